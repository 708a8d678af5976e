// The provider simulator on a thread of its own, so the backfill bench measures the connector
// rather than the connector and the simulator sharing one core. Started by `simulator-thread.ts`;
// it answers HTTP like any provider and, by message, the summary of its request log.
import v8 from "node:v8";
import vm from "node:vm";
import { parentPort, workerData } from "node:worker_threads";
import { startProviderSimulator, type ProviderName, type ProviderSimulatorOptions } from "@vigil/simulator";
import type { SimulatorThreadReply, SimulatorThreadRequest } from "./simulator-thread.js";

const port = parentPort;
if (!port) throw new Error("simulator.worker.ts runs as a worker thread (see bench/simulator-thread.ts)");

const options = workerData as ProviderSimulatorOptions & { providers: ProviderName[] };
const post = (reply: SimulatorThreadReply) => port.postMessage(reply);

/**
 * Collects the garbage of generating the records before the pull starts. Otherwise a full
 * collection of the simulator's large heap (200,000 records) falls in the middle of the pull
 * and stalls the "provider" for 100-200 ms, which a real provider does not do. `--expose-gc`
 * cannot be given to a worker, so `gc` is taken from a fresh context once the flag is set.
 */
function settle(): void {
  v8.setFlagsFromString("--expose-gc");
  (vm.runInNewContext("gc") as () => void)();
}

startProviderSimulator(options).then(
  (sim) => {
    port.on("message", (message: SimulatorThreadRequest) => {
      switch (message.type) {
        case "summary":
          post({
            type: "summary",
            requests: sim.requestLog.length,
            throttled: sim.requestLog.filter((entry) => entry.status === 429).length,
          });
          break;
        case "close":
          sim.close().then(
            () => {
              post({ type: "closed" });
              port.close();
            },
            (err: unknown) => post({ type: "error", message: err instanceof Error ? err.message : String(err) }),
          );
          break;
      }
    });
    settle();
    post({
      type: "ready",
      baseUrls: Object.fromEntries(sim.providers.map((provider) => [provider, sim.baseUrl(provider)])),
      credentials: Object.fromEntries(sim.providers.map((provider) => [provider, sim.credentials(provider)])),
    });
  },
  (err: unknown) => post({ type: "error", message: err instanceof Error ? (err.stack ?? err.message) : String(err) }),
);
