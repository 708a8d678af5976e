import type { CatalogQueue, Config, Logger } from "@vigil/core";

const POLL_JOB_NAME = "poll";

/** Upserts a BullMQ job scheduler per enabled source and removes those of sources no longer enabled. */
export async function reconcileSchedulers(queue: CatalogQueue<"polls">, config: Config, logger: Logger): Promise<void> {
  const enabled = config.sources.filter((source) => source.enabled);
  for (const source of enabled) {
    await queue.upsertJobScheduler(
      source.name,
      { every: source.pollInterval },
      { name: POLL_JOB_NAME, data: { source: source.name } },
    );
  }
  const wanted = new Set(enabled.map((source) => source.name));
  for (const scheduler of await queue.getJobSchedulers(0, -1)) {
    if (wanted.has(scheduler.key)) continue;
    await queue.removeJobScheduler(scheduler.key);
    logger.info({ source: scheduler.key }, "removed the poll schedule of a source that is no longer enabled");
  }
}
