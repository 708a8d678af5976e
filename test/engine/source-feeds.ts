import { DeliveryOrder, type AuditEvent } from "@vigil/core";
import type { SourceIdentity } from "@vigil/engine";
import { event } from "../helpers.js";

// Random feeds of many sources, for the property tests that run them through the Redis store and
// the in-memory definition: each source delivers its own events in its own order (within the
// lateness), in batches, each with its mark.

export const T0 = Date.parse("2026-03-01T00:00:00Z");
export const MIN = 60_000;

/** One source's events in its own delivery order (within the lateness), in batches with their marks. */
export interface SourceFeed {
  source: string;
  batches: {
    events: AuditEvent[];
    lags?: Record<string, number>;
    mark: { seq: number; delivered?: number; bound?: number };
  }[];
}

/**
 * `n` events of a source (opens, closes and logins by 3 actors on 6 targets from 5 IPs, at whole
 * minutes in [T0, T0 + until)), some delivered twice, in batches of 1 to 15.
 */
export function feedOf(
  source: SourceIdentity,
  random: () => number,
  n: number,
  until: number,
  lateness: number,
): SourceFeed {
  const events = Array.from({ length: n }, (_, i) =>
    event({
      id: `${source.name}:${i}`,
      source: source.name,
      provider: source.provider ?? (random() < 0.5 ? "zendesk" : "pylon"),
      time: new Date(T0 + Math.floor(random() * (until / MIN)) * MIN).toISOString(),
      action: random() < 0.4 ? "open" : random() < 0.6 ? "close" : "login",
      actor: { id: `actor${Math.floor(random() * 3)}` },
      target: { id: `t${Math.floor(random() * 6)}` },
      ip: `10.0.0.${Math.floor(random() * 5)}`,
    }),
  );
  const withDuplicates = [...events, ...events.filter(() => random() < 0.1)];
  const ordered = withDuplicates
    .map((e) => ({ e, key: Date.parse(e.time) + random() * lateness }))
    .sort((a, b) => a.key - b.key)
    .map((x) => x.e);
  const order = new DeliveryOrder();
  const batches: SourceFeed["batches"] = [];
  for (let i = 0; i < ordered.length; ) {
    const size = 1 + Math.floor(random() * 15);
    const chunk = ordered.slice(i, i + size);
    i += size;
    const lags = order.lags(chunk);
    batches.push({
      events: chunk,
      ...(lags ? { lags } : {}),
      mark: { seq: batches.length + 1, delivered: order.newestOf(source.name)! },
    });
  }
  return { source: source.name, batches };
}

/** The quiet source's bounds after its few events: it moves them as it polls, without events. */
export function quietBounds(feed: SourceFeed, until: number, random: () => number): void {
  let seq = feed.batches.length;
  for (let t = T0 + 60 * MIN; t <= until + 120 * MIN; t += (20 + Math.floor(random() * 60)) * MIN)
    feed.batches.push({ events: [], mark: { seq: ++seq, bound: t } });
}
