import { createHmac } from "node:crypto";

/**
 * BloodHound's request signature: an HMAC-SHA256 chain, each link keyed with the previous raw
 * digest — (1) token key over METHOD + request URI (path and query, no delimiter), (2) over the
 * first 13 characters of RequestDate (`YYYY-MM-DDTHH`, in the offset the client wrote), (3) over
 * the body (run even when it is empty). Standard base64 with padding.
 */
export function bloodHoundSignature(input: {
  tokenKey: string;
  method: string;
  requestUri: string;
  requestDate: string;
  body?: Buffer | string;
}): string {
  const operation = createHmac("sha256", Buffer.from(input.tokenKey, "utf8"))
    .update(input.method + input.requestUri)
    .digest();
  const date = createHmac("sha256", operation).update(input.requestDate.slice(0, 13)).digest();
  return createHmac("sha256", date)
    .update(input.body ?? "")
    .digest("base64");
}

/**
 * Headers of a signed request. Only the simulator's tests use it: connectors implement their
 * own signer, so a shared bug cannot hide on both sides.
 */
export function signBloodHoundRequest(input: {
  tokenId: string;
  tokenKey: string;
  method: string;
  /** Path and query exactly as sent, e.g. `/api/v2/audit?limit=2`. */
  requestUri: string;
  body?: Buffer | string;
  /** Defaults to now. */
  date?: Date;
}): Record<string, string> {
  const requestDate = (input.date ?? new Date()).toISOString().replace(/\.\d{3}Z$/, "Z");
  return {
    Authorization: `bhesignature ${input.tokenId}`,
    RequestDate: requestDate,
    Signature: bloodHoundSignature({ ...input, requestDate }),
  };
}
