import { appendFileSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ConnectorError, type AuditEvent } from "@vigil/core";
import { FileSourceSchema } from "./file.config.js";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import type { Checkpoint, Connector, SourcePage } from "../../kit/connector.js";
import { createFileConnector, type FileConnectorOptions } from "./file.connector.js";

function auditEvent(n: number): AuditEvent {
  return {
    id: `audit-file:${n}`,
    source: "audit-file",
    provider: "test",
    nativeId: String(n),
    time: new Date(Date.UTC(2026, 0, 1, 0, 0, n)).toISOString(),
    action: "login",
    category: "authentication",
    outcome: "success",
    actor: { id: `user-${n}`, email: `user-${n}@example.com` },
    target: {},
    attributes: {},
    raw: { n },
  };
}

const line = (n: number) => `${JSON.stringify(auditEvent(n))}\n`;
const lines = (...ns: number[]) => ns.map(line).join("");

const NOW = new Date("2026-06-01T12:00:00Z");

async function collect(connector: Connector, from?: Checkpoint, signal = new AbortController().signal) {
  const pages: SourcePage[] = [];
  let error: unknown;
  try {
    for await (const page of connector.pull(from, { signal, now: NOW })) pages.push(page);
  } catch (err) {
    error = err;
  }
  return { pages, error, events: pages.flatMap((page) => page.events), last: pages.at(-1)?.checkpoint };
}

describe("file connector", () => {
  let dir: string;
  let path: string;
  const connector = (batchSize = 200, options?: FileConnectorOptions) =>
    createFileConnector(
      FileSourceSchema.parse({ name: "audit-file", type: "file", path, batchSize }),
      undefined,
      options,
    );

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), "vigil-file-connector-"));
    path = join(dir, "events.jsonl");
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it("yields pages of at most batchSize events in file order, each with the checkpoint after its last line", async () => {
    writeFileSync(path, lines(1, 2, 3, 4, 5));
    const { pages, error } = await collect(connector(2));
    expect(error).toBeUndefined();
    expect(pages.map((page) => page.events.map((event) => event.nativeId))).toEqual([["1", "2"], ["3", "4"], ["5"]]);
    expect(pages.map((page) => page.checkpoint)).toEqual([
      { offset: Buffer.byteLength(lines(1, 2)), line: 2 },
      { offset: Buffer.byteLength(lines(1, 2, 3, 4)), line: 4 },
      { offset: Buffer.byteLength(lines(1, 2, 3, 4, 5)), line: 5 },
    ]);
    expect(pages[0]?.events[0]).toEqual(auditEvent(1));
  });

  it("does not consume a trailing line without a newline until it is complete", async () => {
    const third = line(3);
    writeFileSync(path, lines(1, 2) + third.slice(0, 40));
    const first = await collect(connector());
    expect(first.error).toBeUndefined();
    expect(first.events.map((event) => event.nativeId)).toEqual(["1", "2"]);
    expect(first.last).toEqual({ offset: Buffer.byteLength(lines(1, 2)), line: 2 });

    appendFileSync(path, third.slice(40));
    const second = await collect(connector(), first.last);
    expect(second.events.map((event) => event.nativeId)).toEqual(["3"]);
    expect(second.last).toEqual({ offset: Buffer.byteLength(lines(1, 2, 3)), line: 3 });
  });

  it("resumes from a checkpoint with only the lines appended since", async () => {
    writeFileSync(path, lines(1, 2));
    const first = await collect(connector());
    appendFileSync(path, lines(3, 4));
    const second = await collect(connector(), first.last);
    expect(second.events.map((event) => event.nativeId)).toEqual(["3", "4"]);
    // Nothing new: one empty page that moves the watermark to now less the lookback (default 5m),
    // so a quiet file holds no rule back.
    const third = await collect(connector(), second.last);
    expect(third.pages).toEqual([{ events: [], checkpoint: second.last, watermark: NOW.getTime() - 5 * 60_000 }]);
  });

  it("is its own source: lines without a source are its own, ids are namespaced by it, a line naming another is refused", async () => {
    const { id: _id, source: _source, ...bare } = auditEvent(1);
    const impersonating = JSON.stringify({ ...auditEvent(2), id: "zendesk-prod:2", source: "zendesk-prod" });
    writeFileSync(path, `${JSON.stringify({ ...bare, id: "1" })}\n${impersonating}\n${lines(3)}`);
    const { events, pages, error } = await collect(connector());
    expect(error).toBeUndefined();
    expect(events.map((e) => [e.id, e.source])).toEqual([
      ["audit-file:1", "audit-file"],
      ["audit-file:3", "audit-file"],
    ]);
    expect(pages[0]!.refused).toEqual([
      expect.objectContaining({
        position: `${path}:2`,
        field: "source",
        reason:
          'names source "zendesk-prod", but its lines are source "audit-file"\'s: a file source cannot speak for another source',
      }),
    ]);
  });

  it("declares its provider: lines name it or none", async () => {
    const declared = createFileConnector(
      FileSourceSchema.parse({ name: "audit-file", type: "file", path, provider: "zendesk", lookback: "1h" }),
    );
    const { provider: _provider, ...bare } = auditEvent(1);
    writeFileSync(path, `${JSON.stringify(bare)}\n${JSON.stringify({ ...auditEvent(2), provider: "pylon" })}\n`);
    const { events, pages } = await collect(declared);
    expect(events.map((e) => e.provider)).toEqual(["zendesk"]);
    expect(pages[0]!.refused?.[0]).toMatchObject({ field: "provider", position: `${path}:2` });
    expect(pages.at(-1)!.watermark).toBe(NOW.getTime() - 3_600_000);
  });

  it("skips blank lines but counts them in line numbers and offsets", async () => {
    writeFileSync(path, `${line(1)}\n   \r\n${line(2)}\n`);
    const { events, last, error } = await collect(connector());
    expect(error).toBeUndefined();
    expect(events.map((event) => event.nativeId)).toEqual(["1", "2"]);
    expect(last).toEqual({ offset: Buffer.byteLength(`${line(1)}\n   \r\n${line(2)}\n`), line: 5 });
  });

  it("accepts CRLF line endings", async () => {
    writeFileSync(path, `${JSON.stringify(auditEvent(1))}\r\n${JSON.stringify(auditEvent(2))}\r\n`);
    const { events, error } = await collect(connector());
    expect(error).toBeUndefined();
    expect(events.map((event) => event.nativeId)).toEqual(["1", "2"]);
  });

  it("refuses a bad line with file:line, the reason, the field and its text, and goes on past it", async () => {
    const bad = JSON.stringify({ ...auditEvent(4), actor: { email: 42 } });
    writeFileSync(path, `${lines(1, 2, 3)}\n${bad}\n${lines(5)}`);
    const { pages, error, events } = await collect(connector(2));
    expect(error).toBeUndefined();
    expect(events.map((event) => event.nativeId)).toEqual(["1", "2", "3", "5"]);
    expect(pages.flatMap((page) => page.refused ?? [])).toEqual([
      {
        position: `${path}:5`,
        reason: expect.stringContaining("actor.email"),
        field: "actor.email",
        raw: bad,
        format: "event-line",
        identity: `${path}:5`,
      },
    ]);
    expect(pages.at(-1)?.checkpoint).toEqual({
      offset: Buffer.byteLength(`${lines(1, 2, 3)}\n${bad}\n${lines(5)}`),
      line: 6,
    });
  });

  it("refuses unknown keys and invalid JSON with their line, as acceptEventLine does", async () => {
    writeFileSync(path, `${JSON.stringify({ ...auditEvent(1), colour: "red" })}\n${line(2)}{"id": "x",\n`);
    const { pages, events, error } = await collect(connector());
    expect(error).toBeUndefined();
    expect(events.map((event) => event.nativeId)).toEqual(["2"]);
    const refused = pages.flatMap((page) => page.refused ?? []);
    expect(refused.map((record) => [record.position, record.field])).toEqual([
      [`${path}:1`, "colour"],
      [`${path}:3`, undefined],
    ]);
    expect(refused[1]?.reason).toMatch(/^invalid JSON/);
    expect(refused[1]?.raw).toBe(`{"id": "x",`);
  });

  it("moves its checkpoint past a file of bad lines only, in pages of at most batchSize refusals", async () => {
    writeFileSync(path, "a\nb\nc\n");
    const { pages, error } = await collect(connector(2));
    expect(error).toBeUndefined();
    expect(pages.map((page) => [page.events.length, page.refused?.length, page.checkpoint])).toEqual([
      [0, 2, { offset: 4, line: 2 }],
      [0, 1, { offset: 6, line: 3 }],
    ]);
  });

  it("reads lines that span many small chunks", async () => {
    writeFileSync(path, lines(1, 2, 3));
    const { events, error } = await collect(connector(200, { chunkBytes: 7 }));
    expect(error).toBeUndefined();
    expect(events).toEqual([auditEvent(1), auditEvent(2), auditEvent(3)]);
  });

  it("refuses a line longer than maxLineBytes unparsed, keeping only its head, and reads on after it", async () => {
    const long = `{"id":"${"x".repeat(5_000)}"}`;
    writeFileSync(path, `${line(1)}${long}\n${line(3)}${"y".repeat(5_000)}`);
    const { events, pages, error, last } = await collect(connector(200, { chunkBytes: 1024, maxLineBytes: 2048 }));
    expect(error).toBeUndefined();
    expect(events.map((event) => event.nativeId)).toEqual(["1", "3"]);
    expect(pages.flatMap((page) => page.refused ?? [])).toEqual([
      expect.objectContaining({
        position: `${path}:2`,
        reason: "line is longer than 2048 bytes",
        raw: long.slice(0, 2048),
      }),
    ]);
    // The unfinished long tail waits for its newline.
    expect(last).toEqual({ offset: Buffer.byteLength(`${line(1)}${long}\n${line(3)}`), line: 3 });
  });

  it("refuses a long line found within one chunk the same way", async () => {
    const long = "z".repeat(3_000);
    writeFileSync(path, `${long}\n${line(2)}`);
    const { events, pages } = await collect(connector(200, { maxLineBytes: 2048 }));
    expect(events.map((event) => event.nativeId)).toEqual(["2"]);
    expect(pages.flatMap((page) => page.refused ?? [])).toEqual([
      expect.objectContaining({
        position: `${path}:1`,
        reason: "line is longer than 2048 bytes",
        raw: long.slice(0, 2048),
      }),
    ]);
  });

  it("reports a file shorter than its checkpoint instead of skipping or re-reading silently", async () => {
    writeFileSync(path, line(1));
    const { error } = await collect(connector(), { offset: 10_000, line: 50 });
    expect((error as ConnectorError).message).toMatch(/truncated or replaced/);
  });

  it("rejects a checkpoint that is not a file checkpoint", async () => {
    writeFileSync(path, line(1));
    const { error } = await collect(connector(), { cursor: "abc" });
    expect(error).toBeInstanceOf(ConnectorError);
    expect((error as ConnectorError).message).toContain("offset");
  });

  it("stops when its signal aborts", async () => {
    writeFileSync(path, lines(1, 2, 3));
    const controller = new AbortController();
    controller.abort(new Error("shutting down"));
    const { pages, error } = await collect(connector(1), undefined, controller.signal);
    expect(pages).toEqual([]);
    expect((error as Error).message).toBe("shutting down");
  });

  it("check() passes for a readable file and names the file when it is missing", async () => {
    writeFileSync(path, "");
    await expect(connector().check()).resolves.toBeUndefined();
    rmSync(path);
    await expect(connector().check()).rejects.toThrow(`source audit-file: cannot read ${path}: ENOENT`);
  });

  it("pull names the file when it is missing", async () => {
    const { error } = await collect(connector());
    expect((error as ConnectorError).message).toContain(`cannot read ${path}: ENOENT`);
  });
});
