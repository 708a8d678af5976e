// `@vigil/connectors/testing`: what a provider connector's tests are written with.
export { expectCredentialsRefused, expectMalformedPage } from "./expectations.js";
export { describeProviderConformance, type ProviderConformanceOptions } from "./provider-conformance.js";
export { failedPull, pullAll } from "./pull-all.js";
