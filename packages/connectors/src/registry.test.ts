import { Keyspace, SourceConfigSchema, createRedis, silentLogger } from "@vigil/core";
import { describe, expect, it } from "vitest";
import { createConnectorDeps } from "./connector-deps.js";
import { connectorFactories, createConnector } from "./registry.js";

describe("connector registry", () => {
  it("has a factory for every source type and builds the configured source's connector", async () => {
    const redis = createRedis("redis://127.0.0.1:6379", { lazyConnect: true });
    try {
      const deps = createConnectorDeps({ redis, keyspace: new Keyspace("registry-test"), logger: silentLogger });
      const config = SourceConfigSchema.parse({ name: "replay-file", type: "file", path: "/tmp/none.jsonl" });
      const connector = createConnector(config, deps);
      expect(Object.keys(connectorFactories).sort()).toEqual(SourceConfigSchema.options.map((option) => option.shape.type.value).sort());
      expect(connector).toMatchObject({ source: "replay-file", provider: "file" });
    } finally {
      redis.disconnect();
    }
  });
});
