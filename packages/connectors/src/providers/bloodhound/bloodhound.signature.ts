import { createHmac } from "node:crypto";
import type { SignableRequest } from "../../kit/http-client.js";

/**
 * BloodHound's signed-request digest: an HMAC-SHA256 chain in which each link is keyed with the
 * previous link's raw digest — (1) the token key over METHOD + request URI (path and query as
 * sent, no delimiter), (2) over `RequestDate[:13]` (`YYYY-MM-DDTHH` in the offset written),
 * (3) over the body, empty or not. Standard base64 with padding.
 */
export function bloodHoundSignature(input: {
  tokenKey: string;
  method: string;
  requestUri: string;
  requestDate: string;
  body: string | undefined;
}): string {
  const operation = createHmac("sha256", Buffer.from(input.tokenKey, "utf8"))
    .update(`${input.method}${input.requestUri}`, "utf8")
    .digest();
  const hour = createHmac("sha256", operation).update(input.requestDate.slice(0, 13), "utf8").digest();
  return createHmac("sha256", hour)
    .update(input.body ?? "", "utf8")
    .digest("base64");
}

/** RFC 3339 in UTC, whole seconds: `2024-11-22T13:28:27Z`. */
export function bloodHoundRequestDate(now: Date): string {
  return now.toISOString().replace(/\.\d{3}Z$/, "Z");
}

/**
 * The http client's `sign` hook for an API token: `Authorization: bhesignature <tokenId>`,
 * `RequestDate` and `Signature`, computed for every attempt (the server allows ±1 h of skew).
 */
export function bloodHoundSigner(token: { tokenId: string; tokenKey: string }, clock: () => Date = () => new Date()) {
  return (request: SignableRequest): Record<string, string> => {
    const requestDate = bloodHoundRequestDate(clock());
    return {
      authorization: `bhesignature ${token.tokenId}`,
      requestdate: requestDate,
      signature: bloodHoundSignature({
        tokenKey: token.tokenKey,
        method: request.method,
        requestUri: request.requestUri,
        requestDate,
        body: request.body,
      }),
    };
  };
}
