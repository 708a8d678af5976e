import { Worker } from "node:worker_threads";
import type { ProviderCredentials, ProviderName, ProviderSimulatorOptions } from "@vigil/simulator";

export type SimulatorThreadRequest = { type: "summary" } | { type: "close" };

export type SimulatorThreadReply =
  | { type: "ready"; baseUrls: Record<string, string>; credentials: Record<string, unknown> }
  | { type: "summary"; requests: number; throttled: number }
  | { type: "closed" }
  | { type: "error"; message: string };

/** What the bench needs of the simulator's request log. */
interface RequestLogSummary {
  requests: number;
  /** Requests answered 429. */
  throttled: number;
}

/** A provider simulator running in a worker thread: reached over HTTP like a real provider. */
export interface SimulatorThread {
  baseUrl(provider: ProviderName): string;
  credentials<P extends ProviderName>(provider: P): ProviderCredentials<P>;
  requestLogSummary(): Promise<RequestLogSummary>;
  close(): Promise<void>;
}

/**
 * Starts `startProviderSimulator(options)` in a worker thread (its own event loop, so its own
 * core on a multi-core machine). The worker is TypeScript, loaded through tsx like the bench.
 */
export async function startSimulatorThread(
  options: ProviderSimulatorOptions & { providers: ProviderName[] },
): Promise<SimulatorThread> {
  const worker = new Worker(new URL("./simulator.worker.mjs", import.meta.url), {
    workerData: options,
    // The entry registers tsx itself (simulator.worker.mjs); nothing else is inherited.
    execArgv: [],
  });
  let failure: Error | undefined;
  worker.on("error", (err) => {
    failure = err;
  });

  /** The next reply of the given type; rejects if the worker reports an error or exits first. */
  function next<T extends SimulatorThreadReply["type"]>(type: T): Promise<Extract<SimulatorThreadReply, { type: T }>> {
    return new Promise((resolve, reject) => {
      const onMessage = (reply: SimulatorThreadReply) => {
        if (reply.type !== type && reply.type !== "error") return;
        cleanup();
        if (reply.type === "error") reject(new Error(`provider simulator thread: ${reply.message}`));
        else resolve(reply as Extract<SimulatorThreadReply, { type: T }>);
      };
      const onError = (err: Error) => {
        cleanup();
        reject(err);
      };
      const onExit = (code: number) => {
        cleanup();
        reject(failure ?? new Error(`provider simulator thread exited (code ${code}) before answering "${type}"`));
      };
      const cleanup = () => {
        worker.off("message", onMessage);
        worker.off("error", onError);
        worker.off("exit", onExit);
      };
      worker.on("message", onMessage);
      worker.once("error", onError);
      worker.once("exit", onExit);
    });
  }

  const send = (request: SimulatorThreadRequest) => worker.postMessage(request);

  let ready: Extract<SimulatorThreadReply, { type: "ready" }>;
  try {
    ready = await next("ready");
  } catch (err) {
    await worker.terminate();
    throw err;
  }

  return {
    baseUrl(provider) {
      const url = ready.baseUrls[provider];
      if (url === undefined) throw new Error(`provider simulator thread: ${provider} is not simulated here`);
      return url;
    },
    credentials<P extends ProviderName>(provider: P) {
      const credentials = ready.credentials[provider];
      if (credentials === undefined) throw new Error(`provider simulator thread: ${provider} is not simulated here`);
      return credentials as ProviderCredentials<P>;
    },
    async requestLogSummary() {
      const reply = next("summary");
      send({ type: "summary" });
      const { requests, throttled } = await reply;
      return { requests, throttled };
    },
    async close() {
      const closed = next("closed").catch(() => undefined);
      send({ type: "close" });
      await closed;
      await worker.terminate();
    },
  };
}
