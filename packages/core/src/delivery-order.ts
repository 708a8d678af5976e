import type { AuditEvent } from "./event.js";
import { eventTimeMs } from "./event.js";

/** The lag of an event below its source's bound: beyond every rule's lateness. */
export const BEYOND_BOUND_LAG = Number.MAX_SAFE_INTEGER;

/**
 * A source's delivery order: the newest event time each source has delivered so far. An event's
 * **lag** is how far it lies behind that newest time when its source delivers it (0 when it is the
 * newest so far). Lateness is judged on this lag, a fact of the source's order that stays the
 * same whatever order Vigil then processes batches in (replicas, retries); a live connector
 * keeps the newest time with its checkpoint, `vigil replay` and rule tests compute it in file order.
 */
export class DeliveryOrder {
  private readonly newest = new Map<string, number>();
  private readonly bounds = new Map<string, number>();

  constructor(
    initial?: Iterable<[source: string, newestMs: number]>,
    bounds?: Iterable<[source: string, boundMs: number]>,
  ) {
    for (const [source, ms] of initial ?? []) this.newest.set(source, ms);
    for (const [source, ms] of bounds ?? []) this.bounds.set(source, ms);
  }

  /**
   * The source has promised (a watermark bound) to deliver nothing below `ms` any more. An event
   * that breaks the promise is late for every rule ({@link BEYOND_BOUND_LAG}): the decisions the
   * bound released were taken without it, and would be taken so again on replay.
   */
  setBound(source: string, ms: number): void {
    if (ms > (this.bounds.get(source) ?? Number.NEGATIVE_INFINITY)) this.bounds.set(source, ms);
  }

  /** Records the event as delivered by its source and returns its lag in ms (0 when in order). */
  deliver(event: Pick<AuditEvent, "source" | "time">): number {
    const t = eventTimeMs(event);
    if (t < (this.bounds.get(event.source) ?? Number.NEGATIVE_INFINITY)) return BEYOND_BOUND_LAG;
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
