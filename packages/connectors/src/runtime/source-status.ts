import { errorMessage, type Config, type Keyspace } from "@vigil/core";
import type { Redis } from "ioredis";
import type { Checkpoint } from "../kit/connector.js";
import { CheckpointStore, type SourceHealth } from "./checkpoint-store.js";

/** What `vigil status` and `vigil sources list` show per configured source. */
export interface SourceStatus {
  name: string;
  type: string;
  enabled: boolean;
  pollIntervalMs: number;
  checkpoint: Checkpoint | undefined;
  /** Set when the stored checkpoint cannot be read. */
  checkpointError?: string;
  health: SourceHealth;
}

/** The status read model: each configured source with its stored checkpoint and health. */
export async function getSourcesStatus(connection: Redis, keyspace: Keyspace, config: Config): Promise<SourceStatus[]> {
  const store = new CheckpointStore(connection, keyspace);
  const health = await store.getHealth(config.sources.map((source) => source.name));
  return Promise.all(
    config.sources.map(async (source): Promise<SourceStatus> => {
      const base = {
        name: source.name,
        type: source.type,
        enabled: source.enabled,
        pollIntervalMs: source.pollInterval,
        health: health.get(source.name) ?? { eventsPulled: 0 },
      };
      try {
        return { ...base, checkpoint: await store.get(source.name) };
      } catch (err) {
        return { ...base, checkpoint: undefined, checkpointError: errorMessage(err) };
      }
    }),
  );
}
