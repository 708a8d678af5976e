import type { AuditEvent } from "@vigil/core";
import type { Checkpoint, Connector, PullOptions } from "@vigil/connectors";

/** Runs one pull to the end: every event, every page's checkpoint, and the last one. */
export async function pullAll(connector: Connector, from?: Checkpoint, options: Partial<PullOptions> = {}) {
  const events: AuditEvent[] = [];
  const checkpoints: Checkpoint[] = [];
  for await (const page of connector.pull(from, {
    signal: new AbortController().signal,
    now: new Date(),
    ...options,
  })) {
    events.push(...page.events);
    checkpoints.push(page.checkpoint);
  }
  return { events, checkpoints, checkpoint: checkpoints.at(-1) };
}
