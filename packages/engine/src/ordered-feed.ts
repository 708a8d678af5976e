import { DeliveryOrder, eventTimeMs, type Alert, type AuditEvent } from "@vigil/core";
import type { BatchOutcome, Engine, SourceIdentity } from "./engine.js";

/**
 * The sources of an input (a file, a rule test) as the engine's configured sources: each with the
 * provider of its events when they all name one. Replay and rule tests give them to the Engine,
 * so each rule waits for exactly the sources of the input that can deliver its events, as a live
 * engine waits for the configured ones.
 */
export class InputSources {
  private readonly providers = new Map<string, string | null>();

  add(event: Pick<AuditEvent, "source" | "provider">): void {
    const known = this.providers.get(event.source);
    if (known === undefined) this.providers.set(event.source, event.provider);
    else if (known !== event.provider) this.providers.set(event.source, null);
  }

  get identities(): SourceIdentity[] {
    return [...this.providers].map(([name, provider]) => (provider === null ? { name } : { name, provider }));
  }
}

/**
 * Feeds an engine events in one known order (a file's, a rule test's), as the live sources
 * would: each event's lag measured in that order per `source`, each batch followed by a
 * watermark mark of each of its sources (the newest event time it delivered), explicit
 * watermarks where the input gives them, and at the end of input every source's watermark
 * advanced to the largest event time read. Used by `vigil replay` and rule tests.
 */
export class OrderedFeed {
  private readonly order = new DeliveryOrder();
  private readonly seqs = new Map<string, number>();
  private largest = Number.NEGATIVE_INFINITY;
  private batches = 0;

  constructor(
    private readonly engine: Engine,
    /** Prefix of the batch and mark ids (unique per run). */
    private readonly idPrefix: string,
  ) {}

  /** Evaluates a batch; its alerts include those its sources' marks then decide. */
  async batch(events: readonly AuditEvent[]): Promise<BatchOutcome> {
    const lags = this.order.lags(events);
    const sources = [...new Set(events.map((event) => event.source))];
    const outcome = await this.engine.processBatch(events, `${this.idPrefix}-${this.batches++}`, {
      sources,
      ...(lags ? { lags } : {}),
    });
    for (const event of events) this.largest = Math.max(this.largest, eventTimeMs(event));
    const decided: Alert[] = [];
    for (const source of sources)
      decided.push(...(await this.mark(source, { delivered: this.order.newestOf(source)! })));
    return { ...outcome, alerts: [...outcome.alerts, ...decided] };
  }

  /** The input says: `source` (else every source seen so far) delivers nothing below `atMs` any more. */
  async watermark(atMs: number, source?: string): Promise<Alert[]> {
    const decided: Alert[] = [];
    for (const name of source === undefined ? [...this.seqs.keys()] : [source])
      decided.push(...(await this.mark(name, { bound: atMs })));
    return decided;
  }

  /**
   * End of input: every source's watermark goes to `atMs` (replay: the wall clock less the file
   * source's lookback, as a live file source read to its end), else to the largest event time read
   * (rule tests: the scenario ends with its last event).
   */
  async end(atMs?: number): Promise<Alert[]> {
    const at = atMs ?? this.largest;
    return Number.isFinite(at) ? this.watermark(at) : [];
  }

  private async mark(source: string, fields: { delivered: number } | { bound: number }): Promise<Alert[]> {
    const seq = (this.seqs.get(source) ?? 0) + 1;
    this.seqs.set(source, seq);
    const { alerts } = await this.engine.advance(source, { seq, ...fields }, `${this.idPrefix}-mark-${source}-${seq}`);
    return alerts;
  }
}
