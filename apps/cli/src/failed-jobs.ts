import type { Queue } from "bullmq";
import type { RedisClient } from "@vigil/core";
import { openQueue, type QUEUE_NAMES, type Keyspace, type VigilQueues } from "@vigil/core";

/** The queues `vigil jobs` and `vigil status` look at, by their short name. */
export const QUEUE_KEYS = [
  "events",
  "alerts",
  "deliveries",
  "groups",
  "polls",
] as const satisfies readonly (keyof typeof QUEUE_NAMES)[];
export type QueueKey = (typeof QUEUE_KEYS)[number];

/** Every pipeline queue plus `vigil-polls`; `close()` closes the one it opened (the others belong to `queues`). */
export function allQueues(
  redis: RedisClient,
  keyspace: Keyspace,
  queues: VigilQueues,
): { byKey: Record<QueueKey, Queue>; close(): Promise<void> } {
  const polls = openQueue("polls", redis, keyspace.queuePrefix);
  return {
    byKey: {
      events: queues.events,
      alerts: queues.alerts,
      deliveries: queues.deliveries,
      groups: queues.groups,
      polls,
    },
    close: () => polls.close(),
  };
}

/** A job whose attempts are spent, that failed permanently, or that stalled too often. */
export interface FailedJob {
  queue: QueueKey;
  id: string;
  name: string;
  attempts: number;
  failedReason: string;
  failedAt: string;
}

export async function listFailedJobs(queue: Queue, key: QueueKey, limit?: number): Promise<FailedJob[]> {
  const jobs = await queue.getFailed(0, limit === undefined ? -1 : limit - 1);
  return jobs.flatMap((job) => {
    if (!job?.id) return [];
    const failedOn = job.finishedOn ?? job.processedOn ?? job.timestamp;
    return [
      {
        queue: key,
        id: job.id,
        name: job.name,
        attempts: job.attemptsMade,
        failedReason: job.failedReason ?? "",
        failedAt: new Date(failedOn).toISOString(),
      },
    ];
  });
}
