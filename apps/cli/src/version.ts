import packageJson from "../package.json" with { type: "json" };

/**
 * Vigil's version: `version` of apps/cli/package.json, the one place it is written. The image's
 * labels (deploy/Dockerfile's VIGIL_VERSION) and the chart's appVersion must agree with it
 * (test/deploy/version.test.ts); docs/RELEASING.md says how a release moves it.
 */
export const VERSION: string = packageJson.version;
