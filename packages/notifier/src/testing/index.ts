// `@vigil/notifier/testing`: what a channel's tests are written with.
export {
  describeChannelConformance,
  type AcceptedDelivery,
  type ChannelHarness,
  type ChannelHarnessFactory,
} from "./channel-conformance.js";
export { makeAlert } from "./alert.fixture.js";
export { closedPort } from "./free-port.js";
export { rejectionOf } from "./rejection.js";
