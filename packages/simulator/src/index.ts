export * from "./sinks/smtp.sink.js";
export * from "./sinks/webhook.sink.js";
export * from "./providers/index.js";
export * from "./receivers/index.js";
