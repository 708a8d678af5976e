export { routeAlert, rulesReachingNoOne, type RouteTarget, type RuleRouting } from "./alert-routing.js";
export {
  AlertHistory,
  ALERT_STATUSES,
  type AlertRecord,
  type AlertStatus,
  type HistoryEntry,
} from "./alert-history.js";
export type { AlertRouting } from "./alerts.worker.js";
export { singleAlert, type Channel, type Notification } from "./channels/channel.js";
export { SilenceInputError, SilenceStore, type Silence } from "./silences.js";
export {
  CHANNEL_MANIFESTS,
  ChannelConfigSchema,
  createChannel,
  type ChannelConfig,
} from "./channels/channel-registry.js";
export { defineChannel, type ChannelContext, type ChannelManifest } from "./channels/channel-manifest.js";
export { EmailChannel } from "./channels/email/email.channel.js";
export { EmailChannelSchema, type EmailChannelConfig } from "./channels/email/email.config.js";
export { WebhookChannel, webhookBody } from "./channels/webhook/webhook.channel.js";
export { WebhookChannelSchema, type WebhookChannelConfig } from "./channels/webhook/webhook.config.js";
export { renderAlertEmail, renderNotificationEmail, type AlertEmail } from "./channels/email/alert-email.template.js";
export { renderAlertMessage, type AlertMessage } from "./render/alert-message.js";
export { signWebhook, standardWebhookHeaders } from "./channels/webhook/webhook-signature.js";
export { listFailedDeliveries, type FailedDelivery } from "./failed-deliveries.js";
export { startNotifier, type Notifier, type NotifierOptions } from "./notifier.js";
