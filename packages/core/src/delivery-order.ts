import type { AuditEvent } from "./event.js";
import { eventTimeMs } from "./event.js";

/**
 * A source's delivery order: the newest event time each source has delivered so far. An event's
 * **lag** is how far it lies behind that newest time when its source delivers it (0 when it is the
 * newest so far). Lateness is judged on this lag, a fact of the source's order that stays the
 * same whatever order Vigil then processes batches in (replicas, retries); a live connector
 * keeps the newest time with its checkpoint, `vigil replay` and rule tests compute it in file order.
 */
export class DeliveryOrder {
  private readonly newest = new Map<string, number>();

  constructor(initial?: Iterable<[source: string, newestMs: number]>) {
    for (const [source, ms] of initial ?? []) this.newest.set(source, ms);
  }

  /** Records the event as delivered by its source and returns its lag in ms (0 when in order). */
  deliver(event: Pick<AuditEvent, "source" | "time">): number {
    const t = eventTimeMs(event);
    const before = this.newest.get(event.source);
    if (before === undefined || t > before) {
      this.newest.set(event.source, t);
      return 0;
    }
    return before - t;
  }

  /** The lags of a batch's events, by event id, only those above 0 (what a batch payload carries). */
  lags(events: readonly Pick<AuditEvent, "id" | "source" | "time">[]): Record<string, number> | undefined {
    let lags: Record<string, number> | undefined;
    const seen = new Set<string>();
    for (const event of events) {
      const lag = this.deliver(event);
      // An id delivered twice in one batch keeps the lag of its first delivery.
      if (seen.has(event.id)) continue;
      seen.add(event.id);
      if (lag > 0) {
        lags ??= {};
        lags[event.id] = lag;
      }
    }
    return lags;
  }

  /** The newest event time delivered by a source so far, if any. */
  newestOf(source: string): number | undefined {
    return this.newest.get(source);
  }
}
