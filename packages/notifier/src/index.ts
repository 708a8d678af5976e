export { routeAlert, routeMatches } from "./alert-routing.js";
export type { AlertRouting } from "./alerts.worker.js";
export type { Channel } from "./channels/channel.js";
export {
  CHANNEL_MANIFESTS,
  ChannelConfigSchema,
  createChannel,
  type ChannelConfig,
} from "./channels/channel-registry.js";
export { defineChannel, type ChannelContext, type ChannelManifest } from "./channels/channel-manifest.js";
export { EmailChannel } from "./channels/email/email.channel.js";
export { EmailChannelSchema, type EmailChannelConfig } from "./channels/email/email.config.js";
export { WebhookChannel } from "./channels/webhook/webhook.channel.js";
export { WebhookChannelSchema, type WebhookChannelConfig } from "./channels/webhook/webhook.config.js";
export { renderAlertEmail, type AlertEmail } from "./channels/email/alert-email.template.js";
export { signWebhook, standardWebhookHeaders } from "./channels/webhook/webhook-signature.js";
export { listFailedDeliveries, type FailedDelivery } from "./failed-deliveries.js";
export { startNotifier, type Notifier, type NotifierOptions } from "./notifier.js";
