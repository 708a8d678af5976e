import { Keyspace, createRedis, silentLogger } from "@vigil/core";
import { describe, expect, it } from "vitest";
import { createConnectorDeps } from "../kit/connector-deps.js";
import {
  DOCUMENTED_PROVIDER_LIMITS,
  PROVIDERS,
  SOURCE_MANIFESTS,
  SourceConfigSchema,
  createConnector,
} from "./registry.js";

describe("source registry", () => {
  it("lists each source type once, each manifest's schema accepting its own type only", () => {
    const types = SOURCE_MANIFESTS.map((manifest) => manifest.type);
    expect(new Set(types).size).toBe(types.length);
    for (const manifest of SOURCE_MANIFESTS) {
      const other = types.find((type) => type !== manifest.type);
      expect(manifest.configSchema.safeParse({ name: "x", type: other }).success).toBe(false);
    }
    expect(PROVIDERS).toEqual(types.filter((type) => type !== "file"));
    expect(Object.keys(DOCUMENTED_PROVIDER_LIMITS)).toEqual(PROVIDERS);
  });

  it("parses a configured source with its type's schema and builds its connector", async () => {
    const redis = createRedis("redis://127.0.0.1:6379", { lazyConnect: true });
    try {
      const deps = createConnectorDeps({ redis, keyspace: new Keyspace("registry-test"), logger: silentLogger });
      const config = SourceConfigSchema.parse({ name: "replay-file", type: "file", path: "/tmp/none.jsonl" });
      expect(config).toMatchObject({ pollInterval: 60_000, batchSize: 200 });
      expect(createConnector(config, deps)).toMatchObject({ source: "replay-file", provider: "file" });
      expect(() => SourceConfigSchema.parse({ name: "n", type: "nope" })).toThrow();
    } finally {
      redis.disconnect();
    }
  });
});
