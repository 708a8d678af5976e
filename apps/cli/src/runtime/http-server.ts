import { createServer, type Server } from "node:http";
import { setTimeout as sleep } from "node:timers/promises";
import type { Metrics } from "@vigil/core";
import type { Queue } from "bullmq";

export interface HealthServerOptions {
  host: string;
  port: number;
  metrics: Metrics;
  /** Queues whose job counts per state `/metrics` reports (failed jobs included). */
  queues: () => readonly Queue[];
  /** True while the process should receive work (dependencies up, not shutting down). */
  isReady: () => Promise<boolean>;
}

const READY_CHECK_TIMEOUT_MS = 2_000;

/** `/healthz` (process alive), `/readyz` (ready for work) and `/metrics` (Prometheus). */
export async function startHealthServer(
  options: HealthServerOptions,
): Promise<{ server: Server; port: number; close(): Promise<void> }> {
  const server = createServer((req, res) => {
    const path = (req.url ?? "/").split("?")[0];
    void (async () => {
      if (path === "/healthz") {
        res.writeHead(200, { "content-type": "text/plain" }).end("ok\n");
      } else if (path === "/readyz") {
        // Bounded: a check stuck on an unreachable dependency answers "not ready", never hangs the probe.
        const ready = await Promise.race([options.isReady().catch(() => false), sleep(READY_CHECK_TIMEOUT_MS, false)]);
        res.writeHead(ready ? 200 : 503, { "content-type": "text/plain" }).end(ready ? "ready\n" : "not ready\n");
      } else if (path === "/metrics") {
        await refreshQueueGauges(options.metrics, options.queues()).catch(() => undefined);
        res
          .writeHead(200, { "content-type": options.metrics.registry.contentType })
          .end(await options.metrics.registry.metrics());
      } else {
        res.writeHead(404, { "content-type": "text/plain" }).end("not found\n");
      }
    })().catch((err: Error) => {
      if (!res.headersSent) res.writeHead(500, { "content-type": "text/plain" });
      res.end(`error: ${err.message}\n`);
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(options.port, options.host, () => resolve());
  });
  const address = server.address();
  const port = typeof address === "object" && address ? address.port : options.port;
  return {
    server,
    port,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

const QUEUE_STATES = ["waiting", "active", "delayed", "failed", "completed", "prioritized"] as const;

async function refreshQueueGauges(metrics: Metrics, queues: readonly Queue[]): Promise<void> {
  for (const queue of queues) {
    const counts = await queue.getJobCounts(...QUEUE_STATES);
    for (const state of QUEUE_STATES) metrics.queueJobs.set({ queue: queue.name, state }, counts[state] ?? 0);
  }
}
