import { Webhook } from "standardwebhooks";
import { describe, expect, it } from "vitest";
import { signWebhook, standardWebhookHeaders } from "./webhook-signature.js";

const SECRET = `whsec_${Buffer.from("a 32-byte key for signing tests!").toString("base64")}`;

describe("Standard Webhooks signing", () => {
  it("produces headers the reference standardwebhooks package verifies", () => {
    const body = JSON.stringify({ id: "alert-1", title: "ünïcode <b>" });
    const headers = standardWebhookHeaders(SECRET, "alert-1-soc", body);
    expect(new Webhook(SECRET).verify(body, headers)).toEqual({ id: "alert-1", title: "ünïcode <b>" });
  });

  it("matches the reference signature byte for byte", () => {
    const at = new Date("2026-01-31T12:00:00Z");
    const seconds = Math.floor(at.getTime() / 1000);
    expect(signWebhook(SECRET, "msg_1", seconds, "{}")).toBe(new Webhook(SECRET).sign("msg_1", at, "{}"));
  });

  it("signs id and timestamp with the body, so none can be swapped", () => {
    const body = "{}";
    const headers = standardWebhookHeaders(SECRET, "msg_1", body);
    const verifier = new Webhook(SECRET);
    expect(() => verifier.verify(body, { ...headers, "webhook-id": "msg_2" })).toThrow();
    expect(() =>
      verifier.verify(body, { ...headers, "webhook-timestamp": String(Number(headers["webhook-timestamp"]) - 1) }),
    ).toThrow();
    expect(() => verifier.verify('{"x":1}', headers)).toThrow();
    expect(() => new Webhook(`whsec_${Buffer.from("another key").toString("base64")}`).verify(body, headers)).toThrow();
  });

  it("stamps the current unix time in seconds", () => {
    const headers = standardWebhookHeaders(SECRET, "msg_1", "{}", new Date("2026-01-31T12:00:00.999Z"));
    expect(headers["webhook-timestamp"]).toBe(String(Date.UTC(2026, 0, 31, 12) / 1000));
    expect(headers["webhook-signature"]).toMatch(/^v1,[A-Za-z0-9+/]+=*$/);
  });
});
