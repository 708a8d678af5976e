import { describe, expect, it } from "vitest";
import { ConnectorError, PartialAuditEventSchema, type AuditEvent } from "@vigil/core";
import type { SourcePage } from "./connector.js";
import { ResponseTooLargeError } from "./http-client.js";
import { windowedPull, type TimeWindow, type WindowedSource } from "./windowed-pull.js";

interface FakeRecord {
  id: string;
  at: number;
}

const NOW = Date.parse("2026-03-10T00:00:00Z");
const HOUR = 3_600_000;

/** A newest-first API with inclusive bounds and pages of 3, over the given records. */
function fakeSource(records: FakeRecord[], maxWindowMs = 24 * HOUR, firstWindowMs?: number) {
  const windows: TimeWindow[] = [];
  const source: WindowedSource<FakeRecord> = {
    source: "fake",
    maxWindowMs,
    ...(firstWindowMs ? { firstWindowMs } : {}),
    async *fetchWindow(window) {
      windows.push(window);
      const inside = records
        .filter((r) => r.at >= window.start.getTime() && r.at <= window.end.getTime())
        .sort((a, b) => b.at - a.at);
      for (let i = 0; i < inside.length; i += 3) yield inside.slice(i, i + 3);
    },
    filterTimeMs: (r) => r.at,
    normalize: (r): AuditEvent =>
      PartialAuditEventSchema.parse({ id: `fake:${r.id}`, time: new Date(r.at).toISOString() }),
  };
  return { source, windows };
}

async function collect(source: WindowedSource<FakeRecord>, from: Record<string, unknown> | undefined, settings = {}) {
  const pages = [];
  for await (const page of windowedPull(
    source,
    from,
    { signal: new AbortController().signal, now: new Date(NOW) },
    { startFromMs: 72 * HOUR, lookbackMs: HOUR, pageEvents: 4, ...settings },
  )) {
    pages.push(page);
  }
  return pages;
}

describe("windowed pull", () => {
  const records: FakeRecord[] = [
    { id: "a", at: NOW - 70 * HOUR },
    { id: "b", at: NOW - 48 * HOUR }, // exactly on a window boundary
    { id: "c", at: NOW - 48 * HOUR },
    { id: "d", at: NOW - 30 * HOUR },
    ...Array.from({ length: 7 }, (_, i) => ({ id: `tie${i}`, at: NOW - 2 * HOUR })),
    { id: "old", at: NOW - 100 * HOUR },
  ];

  it("reads from startFrom to now in windows, oldest first, every record once", async () => {
    const { source, windows } = fakeSource(records);
    const pages = await collect(source, undefined);
    const ids = pages.flatMap((p) => p.events.map((e) => e.id.slice(5)));
    expect(ids).toEqual(["a", "b", "c", "d", "tie0", "tie1", "tie2", "tie3", "tie4", "tie5", "tie6"]);
    expect(windows.map((w) => (NOW - w.start.getTime()) / HOUR)).toEqual([72, 48, 24]);
    // The checkpoint carries the next window's size, sized from the density seen (capped at the limit).
    expect(pages.at(-1)!.checkpoint).toEqual({ until: new Date(NOW).toISOString(), windowMs: 24 * HOUR });
  });

  it("moves the checkpoint only with a window's last page", async () => {
    const { source } = fakeSource(records);
    const pages = await collect(source, undefined);
    const lastWindow = pages.filter((p) => p.events.some((e) => e.id.startsWith("fake:tie")));
    expect(lastWindow.map((p) => p.checkpoint.until)).toEqual([
      new Date(NOW - 24 * HOUR).toISOString(),
      new Date(NOW).toISOString(),
    ]);
  });

  it("gives each page the source's watermark: its checkpoint less the lookback", async () => {
    const { source } = fakeSource(records);
    for (const page of await collect(source, undefined))
      expect(page.watermark).toBe(Date.parse(String(page.checkpoint.until)) - HOUR);
  });

  it("resumes from the checkpoint less the lookback", async () => {
    const { source, windows } = fakeSource(records);
    const pages = await collect(source, { until: new Date(NOW - 90 * 60_000).toISOString() });
    expect(windows[0]!.start.getTime()).toBe(NOW - 150 * 60_000);
    expect(pages.flatMap((p) => p.events).map((e) => e.id)).toEqual(
      Array.from({ length: 7 }, (_, i) => `fake:tie${i}`),
    );
  });

  it("splits a window that holds too many records, keeping memory bounded", async () => {
    const { source, windows } = fakeSource(records);
    const pages = await collect(source, undefined, { windowRecords: 3 });
    expect(pages.flatMap((p) => p.events)).toHaveLength(11);
    expect(windows.length).toBeGreaterThan(3);
  });

  it("splits a busy window after a few pages of a newest-first source, not once the buffer is full", async () => {
    // 600 records, one every 6 minutes over the last 60 hours, in pages of 3, newest first.
    const dense = Array.from({ length: 600 }, (_, i) => ({
      id: `r${String(i).padStart(3, "0")}`,
      at: NOW - 60 * HOUR + i * 6 * 60_000,
    }));
    const pagesRead = new Map<string, number>();
    const { source } = fakeSource(dense);
    const counting: WindowedSource<FakeRecord> = {
      ...source,
      async *fetchWindow(window, signal) {
        const key = `${window.start.toISOString()}..${window.end.toISOString()}`;
        for await (const page of source.fetchWindow(window, signal)) {
          pagesRead.set(key, (pagesRead.get(key) ?? 0) + 1);
          yield page;
        }
      },
    };
    const pages = await collect(counting, undefined, { windowRecords: 64, pageEvents: 50 });
    expect(pages.flatMap((p) => p.events.map((e) => e.id))).toEqual(dense.map((r) => `fake:${r.id}`));
    // The first window (120 rows in its last 12 hours) is given up after a page or two, where
    // reading until the buffer overflowed took 22 pages.
    const first = `${new Date(NOW - 72 * HOUR).toISOString()}..${new Date(NOW - 48 * HOUR).toISOString()}`;
    expect(pagesRead.get(first)).toBeLessThanOrEqual(2);
    expect(Math.max(...pagesRead.values())).toBeLessThanOrEqual(Math.ceil(64 / 3) + 1);
  });

  it("asks for the next window's first page before yielding the current window", async () => {
    const log: string[] = [];
    const { source } = fakeSource(records);
    const logging: WindowedSource<FakeRecord> = {
      ...source,
      async *fetchWindow(window, signal) {
        log.push(`fetch ${(NOW - window.start.getTime()) / HOUR}`);
        yield* source.fetchWindow(window, signal);
      },
    };
    for await (const page of windowedPull(
      logging,
      undefined,
      { signal: new AbortController().signal, now: new Date(NOW) },
      { startFromMs: 72 * HOUR, lookbackMs: HOUR, pageEvents: 4 },
    )) {
      log.push(`page ${page.checkpoint.until}`);
    }
    expect(log).toEqual([
      "fetch 72",
      "fetch 48",
      `page ${new Date(NOW - 48 * HOUR).toISOString()}`,
      "fetch 24",
      `page ${new Date(NOW - 24 * HOUR).toISOString()}`,
      `page ${new Date(NOW - 24 * HOUR).toISOString()}`,
      `page ${new Date(NOW).toISOString()}`,
    ]);
  });

  it("surfaces a failure of the window fetched ahead only after the current window's pages", async () => {
    const { source } = fakeSource(records);
    const failing: WindowedSource<FakeRecord> = {
      ...source,
      async *fetchWindow(window, signal) {
        if (window.start.getTime() === NOW - 48 * HOUR) throw new Error("second window failed");
        yield* source.fetchWindow(window, signal);
      },
    };
    const checkpoints: unknown[] = [];
    const pull = async () => {
      for await (const page of windowedPull(
        failing,
        undefined,
        { signal: new AbortController().signal, now: new Date(NOW) },
        { startFromMs: 72 * HOUR, lookbackMs: HOUR },
      )) {
        checkpoints.push(page.checkpoint);
      }
    };
    await expect(pull()).rejects.toThrow("second window failed");
    expect(checkpoints).toEqual([{ until: new Date(NOW - 48 * HOUR).toISOString(), windowMs: 24 * HOUR }]);
  });

  it("aborts and closes the window fetched ahead when the consumer stops", async () => {
    const { source } = fakeSource(records);
    const closed: { start: number; aborted: boolean }[] = [];
    const tracking: WindowedSource<FakeRecord> = {
      ...source,
      async *fetchWindow(window, signal) {
        try {
          yield* source.fetchWindow(window, signal);
        } finally {
          closed.push({ start: (NOW - window.start.getTime()) / HOUR, aborted: signal.aborted });
        }
      },
    };
    for await (const page of windowedPull(
      tracking,
      undefined,
      { signal: new AbortController().signal, now: new Date(NOW) },
      { startFromMs: 72 * HOUR, lookbackMs: HOUR },
    )) {
      expect(page.events.map((e) => e.id)).toEqual(["fake:a"]);
      break;
    }
    expect(closed).toEqual([
      { start: 72, aborted: false },
      { start: 48, aborted: true },
    ]);
  });

  it("pulls a given span, ignoring the checkpoint", async () => {
    const { source } = fakeSource(records);
    const pages = [];
    for await (const page of windowedPull(
      source,
      { until: new Date(NOW).toISOString() },
      { signal: new AbortController().signal, now: new Date(NOW - 40 * HOUR), since: new Date(NOW - 50 * HOUR) },
      { startFromMs: HOUR, lookbackMs: 0 },
    ))
      pages.push(page);
    expect(pages.flatMap((p) => p.events.map((e) => e.id))).toEqual(["fake:b", "fake:c"]);
  });

  it("refuses a malformed record per record, with its window, and moves on past it", async () => {
    const { source } = fakeSource(records);
    const refusing: WindowedSource<FakeRecord> = {
      ...source,
      normalize: (r) => {
        if (r.id === "c" || r.id === "tie3")
          throw new ConnectorError("fake", `record ${r.id}: field actor.id: expected a string`, { field: "actor.id" });
        return source.normalize(r);
      },
      received: (r) => ({ as: "received", id: r.id }),
    };
    const pages = await collect(refusing, undefined);
    const ids = pages.flatMap((p) => p.events.map((e) => e.id.slice(5)));
    expect(ids).toEqual(["a", "b", "d", "tie0", "tie1", "tie2", "tie4", "tie5", "tie6"]);
    const refused = pages.flatMap((p) => p.refused ?? []);
    expect(refused.map((r) => [r.raw, r.field, r.format])).toEqual([
      ['{"as":"received","id":"c"}', "actor.id", "provider-record"],
      ['{"as":"received","id":"tie3"}', "actor.id", "provider-record"],
    ]);
    expect(refused[0]?.position).toMatch(/^fake window \[2026-03-0\dT.*Z, 2026-03-0\dT.*Z\)$/);
    expect(refused[0]?.reason).toContain("record c");
    expect(pages.at(-1)?.checkpoint).toMatchObject({ until: new Date(NOW).toISOString() });
  });

  it("reads a sparse backfill in few wide windows: the first span, then sized from the density, up to the limit", async () => {
    const DAY = 24 * HOUR;
    // 300 records over 120 days, a 90-day limit and a one-day first window (Logfire's shape).
    const sparse = Array.from({ length: 300 }, (_, i) => ({ id: `s${i}`, at: NOW - 120 * DAY + i * 9.6 * HOUR + 1 }));
    const { source, windows } = fakeSource(sparse, 90 * DAY, DAY);
    const pages = await collect(source, undefined, { startFromMs: 121 * DAY, pageEvents: 500 });
    expect(pages.flatMap((p) => p.events.map((e) => e.id))).toEqual(sparse.map((r) => `fake:${r.id}`));
    const spans = windows.map((w) => w.end.getTime() - w.start.getTime());
    expect(spans[0]).toBe(DAY);
    expect(Math.max(...spans)).toBe(90 * DAY);
    // The fewest the 90-day limit allows is 2. Here the one-day probe falls before the first record:
    // an empty window counts as one record, so the next is as wide as the limit: 1 + 90 + 30 days.
    expect(spans.map((s) => s / DAY)).toEqual([1, 90, 30]);
    expect(windows.length).toBeLessThanOrEqual(2 * 2);
  });

  it("narrows where records are dense, whatever the first span", async () => {
    const DAY = 24 * HOUR;
    // Two quiet days, then one dense day: no window may hold more than the buffer.
    const dense = [
      { id: "q1", at: NOW - 70 * HOUR },
      ...Array.from({ length: 400 }, (_, i) => ({ id: `d${i}`, at: NOW - 20 * HOUR + i * 60_000 })),
    ];
    const { source, windows } = fakeSource(dense, 30 * DAY, DAY);
    const pages = await collect(source, undefined, { windowRecords: 100, pageEvents: 500 });
    expect(pages.flatMap((p) => p.events)).toHaveLength(401);
    for (const page of pages) expect(page.events.length).toBeLessThanOrEqual(100);
    expect(windows.length).toBeGreaterThan(4);
  });

  it("refuses a checkpoint of another shape", async () => {
    const { source } = fakeSource(records);
    await expect(collect(source, { offset: 12 })).rejects.toThrow(
      /source fake: stored checkpoint is not a time checkpoint/,
    );
  });

  it("hands an oldest-first source's pages on as they arrive, the checkpoint and watermark moving with each", async () => {
    // 40 records a minute apart, served oldest first in pages of 3.
    const dense = Array.from({ length: 40 }, (_, i) => ({
      id: `o${String(i).padStart(2, "0")}`,
      at: NOW - 50 * HOUR + i * 60_000,
    }));
    const log: string[] = [];
    const source: WindowedSource<FakeRecord> = {
      source: "fake",
      maxWindowMs: 365 * 24 * HOUR,
      oldestFirst: true,
      async *fetchWindow(window) {
        const inside = dense.filter((r) => r.at >= window.start.getTime() && r.at <= window.end.getTime());
        for (let i = 0; i < inside.length; i += 3) {
          log.push(`fetch ${i / 3}`);
          yield inside.slice(i, i + 3);
        }
      },
      filterTimeMs: (r) => r.at,
      normalize: (r): AuditEvent =>
        PartialAuditEventSchema.parse({ id: `fake:${r.id}`, time: new Date(r.at).toISOString() }),
    };
    const pages: SourcePage[] = [];
    for await (const page of windowedPull(
      source,
      undefined,
      { signal: new AbortController().signal, now: new Date(NOW) },
      { startFromMs: 72 * HOUR, lookbackMs: HOUR, windowRecords: 5 },
    )) {
      log.push(`page ${page.events.length}`);
      pages.push(page);
    }
    expect(pages.flatMap((p) => p.events.map((e) => e.id))).toEqual(dense.map((r) => `fake:${r.id}`));
    // Nothing is held: each page is yielded before the next is asked for, whatever windowRecords says.
    expect(log.slice(0, 4)).toEqual(["fetch 0", "page 3", "fetch 1", "page 3"]);
    // Each page's checkpoint is its latest record's time (records of that time may follow), then the window's end.
    const withEvents = pages.filter((p) => p.events.length > 0);
    for (const page of withEvents) {
      expect(page.checkpoint).toEqual({ until: page.events.at(-1)!.time });
      expect(page.watermark).toBe(Date.parse(page.events.at(-1)!.time) - HOUR);
    }
    expect(pages.at(-1)).toMatchObject({ events: [], checkpoint: { until: new Date(NOW).toISOString() } });
    // No page's watermark passes an event not handed on yet: the engine decides nothing past unread events.
    pages.forEach((page, i) => {
      for (const later of pages.slice(i + 1).flatMap((p) => p.events))
        expect(Date.parse(later.time)).toBeGreaterThanOrEqual(page.watermark!);
    });
    // The progress: the window read, the records so far, what is left at the density seen (nothing after the last).
    expect(withEvents.at(-1)!.progress).toMatchObject({
      window: { start: new Date(NOW - 72 * HOUR).toISOString(), end: new Date(NOW).toISOString() },
      recordsRead: 40,
    });
    expect(withEvents[0]!.progress!.estimatedRemaining).toBeGreaterThan(0);
  });

  it("resumes a held window's pull with the window size its checkpoint carries", async () => {
    const { source, windows } = fakeSource(records);
    await collect(source, { until: new Date(NOW - 30 * HOUR).toISOString(), windowMs: 5 * HOUR });
    expect(windows[0]!.start.getTime()).toBe(NOW - 31 * HOUR);
    expect(windows[0]!.end.getTime() - windows[0]!.start.getTime()).toBe(5 * HOUR);
  });

  it("estimates what is left from the density seen", async () => {
    // One record an hour over the 72 hours read: after the first 24-hour window, 48 are left.
    const hourly = Array.from({ length: 72 }, (_, i) => ({ id: `h${i}`, at: NOW - 72 * HOUR + i * HOUR }));
    const { source } = fakeSource(hourly);
    const pages = await collect(source, undefined, { pageEvents: 100 });
    expect(pages[0]!.progress).toEqual({
      window: { start: new Date(NOW - 72 * HOUR).toISOString(), end: new Date(NOW - 48 * HOUR).toISOString() },
      recordsRead: 24,
      estimatedRemaining: 48,
    });
    expect(pages.at(-1)!.progress).toMatchObject({ recordsRead: 72, estimatedRemaining: 0 });
  });

  it("splits a window whose unpaged answer is too large to read", async () => {
    const { source, windows } = fakeSource(records, 72 * HOUR, 72 * HOUR);
    const tooLarge: WindowedSource<FakeRecord> = {
      ...source,
      async *fetchWindow(window, signal) {
        if (window.end.getTime() - window.start.getTime() > 30 * HOUR) {
          windows.push(window);
          throw new ResponseTooLargeError("fake", "the response body is larger than 32 MiB");
        }
        yield* source.fetchWindow(window, signal);
      },
    };
    const pages = await collect(tooLarge, undefined);
    expect(pages.flatMap((p) => p.events)).toHaveLength(11);
    expect(windows.map((w) => (w.end.getTime() - w.start.getTime()) / HOUR).slice(0, 2)).toEqual([72, 9]);
  });
});
