export { VigilConfigSchema, type VigilConfig, type VigilConfigInput } from "./vigil-config.js";
export { DEMO_PROVIDERS } from "./commands/demo.command.js";
export { attackStoryProviders } from "./demo/attack-story.js";
