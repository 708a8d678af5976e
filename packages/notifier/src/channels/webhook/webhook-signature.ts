import { createHmac } from "node:crypto";

const SECRET_PREFIX = "whsec_";

/** The key sizes Standard Webhooks allows: shorter keys can be guessed, and an empty one signs for anyone. */
export const WEBHOOK_SECRET_BYTES = { min: 24, max: 64 } as const;

function webhookKey(secret: string): Buffer {
  const encodedKey = secret.startsWith(SECRET_PREFIX) ? secret.slice(SECRET_PREFIX.length) : secret;
  return Buffer.from(encodedKey, "base64");
}

/** How many bytes the HMAC key of a `whsec_…` secret has. */
export function webhookKeyLength(secret: string): number {
  return webhookKey(secret).length;
}

/**
 * The Standard Webhooks signature of one message: `v1,` + base64(HMAC-SHA256(key, "id.timestamp.body")),
 * the key being the base64-decoded secret after `whsec_`. Signing the id and timestamp with
 * the body makes a captured request useless for replay once its timestamp is stale.
 */
export function signWebhook(secret: string, id: string, timestampSeconds: number, body: string): string {
  const mac = createHmac("sha256", webhookKey(secret)).update(`${id}.${timestampSeconds}.${body}`).digest("base64");
  return `v1,${mac}`;
}

/** The three Standard Webhooks headers for one message sent now (or at `now`). */
export function standardWebhookHeaders(secret: string, id: string, body: string, now = new Date()) {
  const timestamp = Math.floor(now.getTime() / 1000);
  return {
    "webhook-id": id,
    "webhook-timestamp": String(timestamp),
    "webhook-signature": signWebhook(secret, id, timestamp, body),
  };
}
