// The provider conformance suite (@vigil/connectors/testing) for every registered provider,
// against the provider simulator: its cases come from the source registry.
import { PROVIDER_MANIFESTS } from "@vigil/connectors";
import { describeProviderConformance } from "@vigil/connectors/testing";
import type { ProviderName } from "@vigil/simulator";
import { useRedis } from "../helpers.js";

const { redis, keyspace } = useRedis();

for (const manifest of PROVIDER_MANIFESTS) {
  describeProviderConformance(manifest.type as ProviderName, { redis, keyspace });
}
