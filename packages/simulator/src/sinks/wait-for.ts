/**
 * Shared bookkeeping of the sinks: a growing list of received items, callbacks run on each,
 * and `waitFor(count)` that resolves once the list holds at least `count` items.
 */
export class Inbox<T> {
  readonly items: T[] = [];
  private readonly listeners = new Set<(item: T) => void>();

  constructor(private readonly what: string) {}

  push(item: T): void {
    this.items.push(item);
    for (const listener of [...this.listeners]) listener(item);
  }

  /** Calls `callback` for every item received from now on; returns a function that stops it. */
  subscribe(callback: (item: T) => void): () => void {
    this.listeners.add(callback);
    return () => this.listeners.delete(callback);
  }

  waitFor(count: number, timeoutMs: number): Promise<T[]> {
    if (this.items.length >= count) return Promise.resolve([...this.items]);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        unsubscribe();
        reject(new Error(`${this.what}: expected ${count} within ${timeoutMs}ms, received ${this.items.length}`));
      }, timeoutMs);
      const unsubscribe = this.subscribe(() => {
        if (this.items.length < count) return;
        clearTimeout(timer);
        unsubscribe();
        resolve([...this.items]);
      });
    });
  }
}
