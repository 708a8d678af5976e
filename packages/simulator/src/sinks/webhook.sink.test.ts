import { Webhook } from "standardwebhooks";
import { afterEach, describe, expect, it } from "vitest";
import { startWebhookSink, type WebhookSink } from "./webhook.sink.js";

const SECRET = `whsec_${Buffer.from("sink-test-secret-0123456789abcdef").toString("base64")}`;

/** Signs with the reference implementation, so the sink is tested independently of Vigil's signer. */
function signedHeaders(id: string, body: string): Record<string, string> {
  const now = new Date();
  return {
    "content-type": "application/json",
    "webhook-id": id,
    "webhook-timestamp": String(Math.floor(now.getTime() / 1000)),
    "webhook-signature": new Webhook(SECRET).sign(id, now, body),
  };
}

describe("startWebhookSink", () => {
  let sink: WebhookSink;
  afterEach(async () => {
    await sink.close();
  });

  it("records each request and verifies its Standard Webhooks signature", async () => {
    sink = await startWebhookSink({ secret: SECRET });
    const body = JSON.stringify({ hello: "world" });
    const response = await fetch(`${sink.url}?q=1`, { method: "POST", headers: signedHeaders("msg_1", body), body });

    expect(response.status).toBe(200);
    const [request] = await sink.waitFor(1, 5_000);
    expect(request).toMatchObject({
      method: "POST",
      path: "/hooks?q=1",
      body,
      json: { hello: "world" },
      verified: true,
      status: 200,
    });
    expect(request?.verifyError).toBeUndefined();
    expect(request?.headers["webhook-id"]).toBe("msg_1");
  });

  it("flags a tampered body as unverified", async () => {
    sink = await startWebhookSink({ secret: SECRET });
    const headers = signedHeaders("msg_2", JSON.stringify({ amount: 1 }));
    await fetch(sink.url, { method: "POST", headers, body: JSON.stringify({ amount: 1000 }) });

    const [request] = await sink.waitFor(1, 5_000);
    expect(request?.verified).toBe(false);
    expect(request?.verifyError).toMatch(/signature/i);
  });

  it("never verifies without a secret", async () => {
    sink = await startWebhookSink();
    await fetch(sink.url, { method: "POST", body: "not json" });
    const [request] = await sink.waitFor(1, 5_000);
    expect(request).toMatchObject({ verified: false, json: undefined, body: "not json" });
    expect(request?.verifyError).toBeDefined();
  });

  it("answers with the injected statuses", async () => {
    sink = await startWebhookSink({ secret: SECRET });
    sink.respondWith((_request, n) => (n <= 2 ? 500 : 200));
    const statuses: number[] = [];
    for (let i = 0; i < 3; i++) statuses.push((await fetch(sink.url, { method: "POST", body: "{}" })).status);

    expect(statuses).toEqual([500, 500, 200]);
    expect(sink.requests.map((request) => request.status)).toEqual([500, 500, 200]);
  });

  it("tells onRequest subscribers and rejects waitFor on timeout", async () => {
    sink = await startWebhookSink();
    const paths: string[] = [];
    sink.onRequest((request) => paths.push(request.path));
    await fetch(`${sink.url}/a`, { method: "POST", body: "{}" });
    expect(paths).toEqual(["/hooks/a"]);
    await expect(sink.waitFor(2, 50)).rejects.toThrow("webhook sink: expected 2 within 50ms, received 1");
  });

  it("closes even while a slow answer is pending", async () => {
    sink = await startWebhookSink();
    sink.respondWith(() => new Promise<number>(() => {}));
    const pending = fetch(sink.url, { method: "POST", body: "{}" }).catch((err: unknown) => err);
    await new Promise((resolve) => setTimeout(resolve, 50));
    await sink.close();
    expect(await pending).toBeInstanceOf(Error);
    sink = await startWebhookSink(); // afterEach closes this one
  });
});
