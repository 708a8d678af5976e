/** Where a record sits in a provider's feed: its time, then its insertion order among equal times. */
export interface FeedPosition {
  timeUs: number;
  seq: number;
}

export interface StoredEntry<T> extends FeedPosition {
  readonly record: T;
  readonly id: string;
}

/** Oldest first; records with the same time in insertion order. */
export function compareAscending(a: FeedPosition, b: FeedPosition): number {
  return a.timeUs - b.timeUs || a.seq - b.seq;
}

export function compareDescending(a: FeedPosition, b: FeedPosition): number {
  return compareAscending(b, a);
}

/**
 * Every record a simulated provider can serve, kept in feed order. Routes read it; only
 * generation and `append` write it, so faults and bad requests never change the data.
 */
export class RecordStore<T> {
  private readonly entries: StoredEntry<T>[] = [];
  private readonly byId = new Map<string, StoredEntry<T>>();
  private nextSeq = 0;

  constructor(
    private readonly timeOf: (record: T) => number,
    private readonly idOf: (record: T) => string,
  ) {}

  get size(): number {
    return this.entries.length;
  }

  /** Adds records (each placed by its time); throws on a duplicate id before adding any. */
  insert(records: readonly T[]): StoredEntry<T>[] {
    const seen = new Set<string>();
    for (const record of records) {
      const id = this.idOf(record);
      if (this.byId.has(id) || seen.has(id)) throw new Error(`duplicate record id ${id}`);
      seen.add(id);
    }
    return records.map((record) => {
      const entry: StoredEntry<T> = { record, id: this.idOf(record), timeUs: this.timeOf(record), seq: this.nextSeq++ };
      this.entries.splice(this.upperBound(entry.timeUs), 0, entry);
      this.byId.set(entry.id, entry);
      return entry;
    });
  }

  /** Oldest first. */
  ascending(): readonly StoredEntry<T>[] {
    return this.entries;
  }

  /** Newest first. */
  descending(): StoredEntry<T>[] {
    return [...this.entries].reverse();
  }

  /**
   * Where the entries with `startUs <= timeUs <= endUs` sit in `ascending()`: indexes `from`
   * (inclusive) to `to` (exclusive), found by binary search without copying anything.
   */
  indexRange(startUs: number, endUs: number): { from: number; to: number } {
    const from = this.lowerBound(startUs);
    return { from, to: Math.max(from, this.upperBound(endUs)) };
  }

  get(id: string): StoredEntry<T> | undefined {
    return this.byId.get(id);
  }

  latestTimeUs(): number | undefined {
    return this.entries.at(-1)?.timeUs;
  }

  /** Index of the first entry at or after `timeUs`. */
  private lowerBound(timeUs: number): number {
    let lo = 0;
    let hi = this.entries.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if ((this.entries[mid]?.timeUs ?? Infinity) < timeUs) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  /** Index of the first entry strictly later than `timeUs` (new entries go after equal times). */
  private upperBound(timeUs: number): number {
    let lo = 0;
    let hi = this.entries.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if ((this.entries[mid]?.timeUs ?? Infinity) <= timeUs) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }
}
