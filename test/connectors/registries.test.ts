// The source registry is the one list of providers; this keeps the simulator and the demo in step with it.
import { DEMO_PROVIDERS, attackStoryProviders } from "@vigil/cli";
import { PROVIDER_MANIFESTS, PROVIDERS, SourceConfigSchema } from "@vigil/connectors";
import { PROVIDER_NAMES } from "@vigil/simulator";
import { describe, expect, it } from "vitest";

describe("the provider registries", () => {
  it.each(PROVIDERS)("%s has a simulator, a demo source and a part in the demo's attack story", (provider) => {
    expect(PROVIDER_NAMES).toContain(provider);
    expect(DEMO_PROVIDERS).toContain(provider);
    expect(attackStoryProviders()).toContain(provider);
  });

  it("simulates no provider that has no connector", () => {
    expect([...PROVIDER_NAMES].sort()).toEqual([...PROVIDERS].sort());
  });

  it.each(PROVIDER_MANIFESTS.map((manifest) => [manifest.type, manifest] as const))(
    "%s's simulator credentials make a valid source",
    (type, manifest) => {
      const credentials = { token: "t", email: "e@x", apiToken: "t", apiKey: "k", tokenId: "i", tokenKey: "k" };
      const source = {
        name: `${type}-x`,
        type,
        baseUrl: "https://example.com",
        auth: manifest.provider.simulatorAuth(credentials),
      };
      expect(SourceConfigSchema.safeParse(source).error).toBeUndefined();
    },
  );
});
