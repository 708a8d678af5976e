export * from "./condition.js";
export * from "./engine.js";
export * from "./rule-loader.js";
export * from "./window-store.js";
