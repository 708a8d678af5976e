export * from "./http-receiver.js";
export * from "./slack.receiver.js";
export * from "./teams.receiver.js";
export * from "./pagerduty.receiver.js";
export * from "./alertmanager.receiver.js";
