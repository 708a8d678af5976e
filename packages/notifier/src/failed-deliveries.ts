import type { Queue } from "bullmq";
import type { DeliveryJob } from "@vigil/core";

/** A delivery whose attempts are spent or that failed permanently, as `vigil deliveries failed` shows it. */
export interface FailedDelivery {
  /** The delivery job id, `deliveryJobId(alertId, channel)`; what core's `retryFailedJobs` takes. */
  id: string;
  alertId: string;
  channel: string;
  ruleId: string;
  title: string;
  /** Attempts made before it was given up. */
  attempts: number;
  failedReason: string;
  /** ISO-8601 time of the last failure. */
  failedAt: string;
}

/** Failed deliveries, most recent failure first. `limit` caps how many are read. */
export async function listFailedDeliveries(
  queue: Queue<DeliveryJob>,
  options: { limit?: number } = {},
): Promise<FailedDelivery[]> {
  const end = options.limit === undefined ? -1 : options.limit - 1;
  if (end < -1) return [];
  const jobs = await queue.getFailed(0, end);
  return jobs.flatMap((job) => {
    if (!job?.id) return [];
    // Read leniently: a job that failed for carrying a broken payload is listed too.
    const data = (job.data ?? {}) as Partial<DeliveryJob>;
    const alert = (data.alert ?? {}) as Partial<DeliveryJob["alert"]>;
    const failedOn = job.finishedOn ?? job.processedOn ?? job.timestamp;
    return [
      {
        id: job.id,
        alertId: String(alert.id ?? ""),
        channel: String(data.channel ?? ""),
        ruleId: String(alert.ruleId ?? ""),
        title: String(alert.title ?? ""),
        attempts: job.attemptsMade,
        failedReason: job.failedReason ?? "",
        failedAt: new Date(failedOn).toISOString(),
      },
    ];
  });
}
