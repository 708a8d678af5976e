import { timingSafeEqual } from "node:crypto";
import type { IncomingHttpHeaders } from "node:http";

/** One request as a simulated provider sees it, with the simulator's routing prefix removed. */
export interface SimRequest {
  method: string;
  /** The request target exactly as it came over the wire, e.g. `/bloodhound/api/v2/audit?limit=2`. */
  rawTarget: string;
  /** The target without the routing prefix, i.e. what a real server of the provider would see. */
  target: string;
  /** Path part of `target`, e.g. `/api/v2/audit`. */
  path: string;
  query: URLSearchParams;
  headers: IncomingHttpHeaders;
  body: Buffer;
  remoteAddress: string;
  remotePort: number;
  /** A fresh id per request, for the providers that echo one. */
  requestId: string;
  receivedAtMs: number;
}

type SimResponseBody =
  | { kind: "json"; value: unknown }
  | { kind: "text"; text: string; contentType: string }
  | { kind: "empty" };

export interface SimResponse {
  status: number;
  headers: Record<string, string>;
  body: SimResponseBody;
}

export function jsonResponse(status: number, value: unknown, headers: Record<string, string> = {}): SimResponse {
  return { status, headers, body: { kind: "json", value } };
}

export function textResponse(
  status: number,
  text: string,
  headers: Record<string, string> = {},
  contentType = "text/plain; charset=utf-8",
): SimResponse {
  return { status, headers, body: { kind: "text", text, contentType } };
}

export function emptyResponse(status: number, headers: Record<string, string> = {}): SimResponse {
  return { status, headers, body: { kind: "empty" } };
}

export function withHeaders(response: SimResponse, headers: Record<string, string>): SimResponse {
  return { ...response, headers: { ...response.headers, ...headers } };
}

/** A single header value (the first, when repeated). */
export function headerValue(request: Pick<SimRequest, "headers">, name: string): string | undefined {
  const value = request.headers[name.toLowerCase()];
  return Array.isArray(value) ? value[0] : value;
}

export function isJsonContentType(request: Pick<SimRequest, "headers">): boolean {
  return /^application\/(?:[\w.+-]+\+)?json\b/i.test(headerValue(request, "content-type") ?? "");
}

/** `Authorization: Basic ...` decoded into user and password; undefined when absent or not Basic. */
export function parseBasicAuthorization(header: string | undefined): { user: string; password: string } | undefined {
  const match = /^Basic\s+([A-Za-z0-9+/=]+)\s*$/i.exec(header ?? "");
  if (!match?.[1]) return undefined;
  const decoded = Buffer.from(match[1], "base64").toString("utf8");
  const colon = decoded.indexOf(":");
  if (colon < 0) return undefined;
  return { user: decoded.slice(0, colon), password: decoded.slice(colon + 1) };
}

/** The token of `Authorization: Bearer <token>`; undefined when absent or another scheme. */
export function parseBearerAuthorization(header: string | undefined): string | undefined {
  const match = /^Bearer\s+(\S+)\s*$/i.exec(header ?? "");
  return match?.[1];
}

/** Compares secrets without leaking, through timing, how much of a guess was right. */
export function secretEquals(given: string, expected: string): boolean {
  const a = Buffer.from(given);
  const b = Buffer.from(expected);
  return a.length === b.length && timingSafeEqual(a, b);
}

export function basicAuthorization(user: string, password: string): string {
  return `Basic ${Buffer.from(`${user}:${password}`).toString("base64")}`;
}

/** Parses a base-10 integer the way Go's `strconv.Atoi` and most servers do: digits with an optional sign, nothing else. */
export function parseStrictInt(value: string): number | undefined {
  if (!/^[+-]?\d+$/.test(value)) return undefined;
  const n = Number(value);
  return Number.isSafeInteger(n) ? n : undefined;
}

/** An array of JSON objects (what list endpoints return records as). */
export function isRecordList(value: unknown): value is Record<string, unknown>[] {
  return (
    Array.isArray(value) && value.every((item) => typeof item === "object" && item !== null && !Array.isArray(item))
  );
}

/** The caller's address as a limiter keyed by client sees it: X-Forwarded-For first, then the socket. */
export function clientAddress(request: Pick<SimRequest, "headers" | "remoteAddress">): string {
  return headerValue(request, "x-forwarded-for")?.split(",")[0]?.trim() || request.remoteAddress;
}
