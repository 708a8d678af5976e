import type { AuditEvent } from "@vigil/core";
import type { Checkpoint, Connector, PullOptions } from "../kit/connector.js";

/** Runs one pull to the end: every event, every page's checkpoint, and the last one. */
export async function pullAll(connector: Connector, from?: Checkpoint, options: Partial<PullOptions> = {}) {
  const events: AuditEvent[] = [];
  const checkpoints: Checkpoint[] = [];
  let watermark: number | undefined;
  for await (const page of connector.pull(from, {
    signal: new AbortController().signal,
    now: new Date(),
    ...options,
  })) {
    events.push(...page.events);
    checkpoints.push(page.checkpoint);
    if (page.watermark !== undefined) watermark = Math.max(watermark ?? page.watermark, page.watermark);
  }
  /** `watermark`: the highest a page gave (undefined: none did). */
  return { events, checkpoints, checkpoint: checkpoints.at(-1), watermark };
}

/** Runs one pull that is expected to fail: the pages it yielded before failing, and the error. */
export async function failedPull(connector: Connector, from?: Checkpoint): Promise<{ pages: number; error: unknown }> {
  let pages = 0;
  try {
    for await (const _page of connector.pull(from, { signal: new AbortController().signal, now: new Date() })) pages++;
  } catch (error) {
    return { pages, error };
  }
  throw new Error(`expected the pull of source ${connector.source} to fail; it read ${pages} page(s)`);
}
