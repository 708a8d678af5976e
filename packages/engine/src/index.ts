export * from "./condition.js";
export * from "./rule-index.js";
export * from "./engine.js";
export * from "./rule-loader.js";
export * from "./window-store.js";
export * from "./events.worker.js";
export * from "./rule-tester.js";
export * from "./rule-schema.js";
