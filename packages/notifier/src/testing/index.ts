// `@vigil/notifier/testing`: what a channel's tests are written with.
export {
  describeChannelConformance,
  useChannelContext,
  type AcceptedDelivery,
  type ChannelHarness,
  type ChannelHarnessFactory,
  type Refusal,
} from "./channel-conformance.js";
export { makeAlert } from "./alert.fixture.js";
export { closedPort } from "./free-port.js";
export { rejectionOf } from "./rejection.js";
export { receiverHarness, shownAlertId, type ReceiverHarnessOptions } from "./receiver-harness.js";
