import { DELIVERED_RETENTION_S, type Keyspace } from "@vigil/core";
import type { RedisClient } from "@vigil/core";
import { z } from "zod";

/** What the ledger keeps per delivery: when the receiver accepted it, and on which job attempt. */
const LedgerEntrySchema = z.object({
  sentAt: z.iso.datetime(),
  attempt: z.number().int().min(1),
});
export type LedgerEntry = z.infer<typeof LedgerEntrySchema>;

/**
 * The delivery ledger: one Redis key per delivery id, written once right after the receiver
 * accepted the delivery (SMTP 250, webhook 2xx) and read before each send, so a delivery that a
 * retry, a stalled job or a re-added job runs again is not sent again. What is left is the moment
 * between the receiver's acceptance and this one write.
 *
 * Entries live {@link DELIVERED_RETENTION_S}: as long as completed alert and delivery jobs are
 * kept, which is the horizon inside which Vigil can run a delivery of the same alert again (the
 * engine itself remembers event ids only `engine.dedupFor`, 24 h by default). One entry is ~150 bytes.
 */
export class DeliveryLedger {
  constructor(
    private readonly redis: RedisClient,
    private readonly keyspace: Keyspace,
    readonly ttlSeconds: number = DELIVERED_RETENTION_S,
  ) {}

  /** The Redis key of one delivery's entry. */
  key(deliveryId: string): string {
    return this.keyspace.key("delivery-ledger", deliveryId);
  }

  /** The entry of a delivery the receiver accepted, or undefined if it was never sent (or the entry expired). */
  async sent(deliveryId: string): Promise<LedgerEntry | undefined> {
    const raw = await this.redis.get(this.key(deliveryId));
    if (raw === null) return undefined;
    const parsed = LedgerEntrySchema.safeParse(safeJson(raw));
    // An unreadable entry still says the delivery was accepted: that is all its presence is written for.
    return parsed.success ? parsed.data : { sentAt: new Date(0).toISOString(), attempt: 1 };
  }

  /** Records that the receiver accepted the delivery. */
  async markSent(deliveryId: string, attempt: number, at: Date = new Date()): Promise<void> {
    const entry: LedgerEntry = { sentAt: at.toISOString(), attempt };
    await this.redis.set(this.key(deliveryId), JSON.stringify(entry), "EX", this.ttlSeconds);
  }
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}
