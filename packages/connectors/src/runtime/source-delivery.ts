import { DeliveryOrder, type Keyspace } from "@vigil/core";
import type { RedisClient } from "@vigil/core";
import { z } from "zod";
import type { SourceLock } from "./source-lock.js";

/**
 * What a source has delivered, kept beside its checkpoint: the newest event time it delivered
 * (events' lags are measured against it) and the seq of its last watermark mark. A pull step
 * reserves its seq before it queues its flow and commits after, so a step that died in between
 * is queued again under the same seq (its flow's parent job id), never skipping one: the engine
 * applies marks only in seq order.
 */
const SourceDeliverySchema = z.object({
  seq: z.number().int().nonnegative(),
  reserved: z.number().int().positive().optional(),
  newest: z.number().int().optional(),
  /** The highest watermark bound a mark carried. */
  bound: z.number().int().optional(),
});
type SourceDeliveryState = z.infer<typeof SourceDeliverySchema>;

export class SourceDelivery {
  private constructor(
    private readonly key: string,
    private readonly name: string,
    private state: SourceDeliveryState,
    /** The source's delivery order, carried across pulls. */
    readonly order: DeliveryOrder,
  ) {}

  static async load(redis: RedisClient, keyspace: Keyspace, name: string): Promise<SourceDelivery> {
    const key = keyspace.key("source", name, "delivery");
    const text = await redis.get(key);
    const parsed = text === null ? undefined : SourceDeliverySchema.safeParse(JSON.parse(text));
    const state = parsed?.success ? parsed.data : { seq: 0 };
    return new SourceDelivery(
      key,
      name,
      state,
      new DeliveryOrder(state.newest === undefined ? [] : [[name, state.newest]]),
    );
  }

  /** The seq of the next mark: a reservation left by a step that died, else the one after the last. */
  get nextSeq(): number {
    return this.state.reserved ?? this.state.seq + 1;
  }

  /** Stores the reservation of `nextSeq` (before its flow is queued). */
  async reserve(lock: SourceLock): Promise<boolean> {
    return this.store(lock, { ...this.state, reserved: this.nextSeq });
  }

  /** The highest bound a mark carried so far. */
  get bound(): number | undefined {
    return this.state.bound;
  }

  /** After the flow is queued: the mark is the source's, and so are the order's newest time and the bound. */
  async commit(lock: SourceLock, bound: number | undefined): Promise<boolean> {
    const newest = this.order.newestOf(this.name);
    const highest = Math.max(bound ?? Number.NEGATIVE_INFINITY, this.state.bound ?? Number.NEGATIVE_INFINITY);
    return this.store(lock, {
      seq: this.nextSeq,
      ...(newest === undefined ? {} : { newest }),
      ...(Number.isFinite(highest) ? { bound: highest } : {}),
    });
  }

  /**
   * After `vigil sources reset` (with the reset mark of `nextSeq` reserved and queued): the events
   * read again are measured against what the source delivers from now on, not against the newest
   * event delivered before (they would all be late), and its bound goes back to where it reads
   * again from (`at`; undefined: the beginning).
   */
  async commitReset(lock: SourceLock, at: number | undefined): Promise<boolean> {
    return this.store(lock, { seq: this.nextSeq, ...(at === undefined ? {} : { bound: at }) });
  }

  private async store(lock: SourceLock, state: SourceDeliveryState): Promise<boolean> {
    const held = await lock.setWhileHeld(this.key, JSON.stringify(state));
    if (held) this.state = state;
    return held;
  }
}
