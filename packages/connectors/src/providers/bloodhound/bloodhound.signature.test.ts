import { describe, expect, it } from "vitest";
import { bloodHoundRequestDate, bloodHoundSignature, bloodHoundSigner } from "./bloodhound.signature.js";

const TOKEN_KEY = "TESTKEY-not-a-real-key";

describe("BloodHound request signature", () => {
  // The vectors of PROVIDERS.md 5.1, computed with the documented HMAC chain.
  it("matches the reference vectors", () => {
    expect(
      bloodHoundSignature({
        tokenKey: TOKEN_KEY,
        method: "GET",
        requestUri: "/api/v2/audit?limit=2&after=2024-11-22T00:00:00Z",
        requestDate: "2024-11-22T13:28:27Z",
        body: undefined,
      }),
    ).toBe("gDvmqjZkEguzFwFqQJvGCBkPkjDpgFqpz1QnlcVBbbc=");
    expect(
      bloodHoundSignature({
        tokenKey: TOKEN_KEY,
        method: "GET",
        requestUri: "/api/v2/audit",
        requestDate: "2024-11-22T13:05:00Z",
        body: "",
      }),
    ).toBe("SU8OYTFjlfiFyehUH+dLO3C4tvNUtGOEfw7GtIi0o5Q=");
  });

  it("depends on the hour of the date only, and on method, URI and body", () => {
    const base = {
      tokenKey: TOKEN_KEY,
      method: "GET",
      requestUri: "/api/v2/audit",
      requestDate: "2024-11-22T13:05:00Z",
      body: "",
    };
    const reference = bloodHoundSignature(base);
    expect(bloodHoundSignature({ ...base, requestDate: "2024-11-22T13:59:59.999+00:00" })).toBe(reference);
    expect(bloodHoundSignature({ ...base, requestDate: "2024-11-22T14:00:00Z" })).not.toBe(reference);
    expect(bloodHoundSignature({ ...base, method: "POST" })).not.toBe(reference);
    expect(bloodHoundSignature({ ...base, requestUri: "/api/v2/audit?limit=1" })).not.toBe(reference);
    expect(bloodHoundSignature({ ...base, body: "{}" })).not.toBe(reference);
    expect(bloodHoundSignature({ ...base, tokenKey: `${TOKEN_KEY}x` })).not.toBe(reference);
  });

  it("signs the exact request URI with the token id and an RFC 3339 date", () => {
    const clock = () => new Date("2024-11-22T13:28:27.654Z");
    const sign = bloodHoundSigner({ tokenId: "9b1d7c2e-5f3a-4c8e-b2d1-7e6f5a4b3c2d", tokenKey: TOKEN_KEY }, clock);
    const requestUri = "/api/v2/audit?limit=2&after=2024-11-22T00:00:00Z";
    const headers = sign({
      method: "GET",
      url: new URL(`https://bh.example${requestUri}`),
      requestUri,
      body: undefined,
    });
    expect(headers).toEqual({
      authorization: "bhesignature 9b1d7c2e-5f3a-4c8e-b2d1-7e6f5a4b3c2d",
      requestdate: "2024-11-22T13:28:27Z",
      signature: "gDvmqjZkEguzFwFqQJvGCBkPkjDpgFqpz1QnlcVBbbc=",
    });
    expect(bloodHoundRequestDate(new Date("2026-01-02T03:04:05.000Z"))).toBe("2026-01-02T03:04:05Z");
  });
});
