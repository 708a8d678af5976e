import { errorMessage, type Config, type Keyspace } from "@vigil/core";
import type { RedisClient } from "@vigil/core";
import type { Checkpoint } from "../kit/connector.js";
import { QuarantineStore } from "./quarantine-store.js";
import { CheckpointStore, type PullProgressRecord, type SourceHealth } from "./checkpoint-store.js";

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
  /** Records of this source held in the quarantine (`vigil sources quarantine list <name>`). */
  quarantined: number;
  /** How far its latest pull got (window, records so far, estimate of what is left); none before its first page. */
  progress?: PullProgressRecord;
}

/** The status read model: each configured source with its stored checkpoint and health. */
export async function getSourcesStatus(
  connection: RedisClient,
  keyspace: Keyspace,
  config: Config,
): Promise<SourceStatus[]> {
  const store = new CheckpointStore(connection, keyspace);
  const health = await store.getHealth(config.sources.map((source) => source.name));
  const progress = await store.getProgress(config.sources.map((source) => source.name));
  const quarantine = new QuarantineStore(connection, keyspace);
  return Promise.all(
    config.sources.map(async (source): Promise<SourceStatus> => {
      const base = {
        name: source.name,
        type: source.type,
        enabled: source.enabled,
        pollIntervalMs: source.pollInterval,
        health: health.get(source.name) ?? { eventsPulled: 0 },
        quarantined: await quarantine.count(source.name),
        ...(progress.has(source.name) ? { progress: progress.get(source.name) } : {}),
      };
      try {
        return { ...base, checkpoint: await store.get(source.name) };
      } catch (err) {
        return { ...base, checkpoint: undefined, checkpointError: errorMessage(err) };
      }
    }),
  );
}
