// Worker entry of the provider simulator thread (see simulator-thread.ts). Node 20 does not apply
// `--import` loader hooks to a worker's own entry module, so this plain module registers tsx
// and then loads the TypeScript worker.
import { register } from "tsx/esm/api";

register();
await import("./simulator.worker.ts");
