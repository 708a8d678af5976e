import { describe, expect, it } from "vitest";
import { acceptEvent, acceptEventLine, EVENT_LIMITS, normalizeEventStrings, recordText } from "./event.js";
import { seededRandom } from "./seeded-random.js";

/** True when a string holds no lone UTF-16 surrogate. */
const wellFormed = (text: string) =>
  !/[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/.test(text);

const base = { id: "e-1", time: "2026-03-05T10:00:00Z", action: "ApiTokenCreated" };

describe("string safety at the boundary", () => {
  it("writes lone surrogates out as text, keeping distinct ids distinct and pairs intact", () => {
    const a = acceptEventLine('{"id":"lone-\\ud83d-2","time":"2026-03-05T10:00:00Z","action":"ApiTokenCreated"}');
    const b = acceptEventLine('{"id":"lone-\\ud83e-2","time":"2026-03-05T10:00:00Z"}');
    const c = acceptEventLine(
      '{"id":"low-\\udc00","time":"2026-03-05T10:00:00Z","attributes":{"emoji":"\\ud83d\\ude00"}}',
    );
    if (!a.ok || !b.ok || !c.ok) throw new Error("refused");
    expect(a.event.id).toBe("lone-\\ud83d-2");
    expect(b.event.id).toBe("lone-\\ud83e-2");
    expect(c.event.id).toBe("low-\\udc00");
    expect(c.event.attributes.emoji).toBe("😀");
    expect(a.escaped).toEqual(["id"]);
    for (const event of [a.event, b.event, c.event])
      expect(
        [
          event.id,
          event.nativeId,
          ...Object.keys(event.attributes),
          ...Object.values(event.attributes).map(String),
        ].every(wellFormed),
      ).toBe(true);
  });

  it("writes control characters out as text everywhere, keys included, but keeps tab, newline and CR", () => {
    const result = acceptEvent({
      ...base,
      actor: { name: "bad\u0000name\u001b[31m" },
      attributes: { "k\u0007ey": "a\tb\nc\r\u007f" },
    });
    if (!result.ok) throw new Error(result.reason);
    expect(result.event.actor.name).toBe("bad\\u0000name\\u001b[31m");
    expect(result.event.attributes).toEqual({ "k\\u0007ey": "a\tb\nc\r\\u007f" });
    expect(result.escaped.sort()).toEqual(["actor.name", "attributes.k\\u0007ey"]);
  });

  it("cuts huge string values and says how much was cut, without splitting a surrogate pair", () => {
    const huge = `${"x".repeat(EVENT_LIMITS.stringChars - 1)}😀${"y".repeat(3 * 1024 * 1024)}`;
    const result = acceptEvent({ ...base, attributes: { blob: huge } });
    if (!result.ok) throw new Error(result.reason);
    const blob = result.event.attributes.blob as string;
    expect(blob.startsWith(`${"x".repeat(EVENT_LIMITS.stringChars - 1)}…[`)).toBe(true);
    expect(blob).toMatch(/…\[\d+ characters cut\]$/);
    expect(wellFormed(blob)).toBe(true);
    expect(result.truncated).toEqual(["attributes.blob"]);
  });

  it("refuses, per record and with a reason, what cannot be made safe", () => {
    expect(acceptEventLine("{not json")).toMatchObject({ ok: false, reason: expect.stringMatching(/^invalid JSON/) });
    expect(acceptEvent({ ...base, colour: "red" })).toEqual({
      ok: false,
      reason: "unknown field(s) colour",
      field: "colour",
    });
    expect(acceptEvent({ ...base, time: "yesterday" })).toMatchObject({ ok: false, field: "time" });
    expect(acceptEvent({ ...base, id: "i".repeat(EVENT_LIMITS.identityChars + 1) })).toEqual({
      ok: false,
      reason: `field id: longer than ${EVENT_LIMITS.identityChars} characters`,
      field: "id",
    });
    const manyBlobs = Object.fromEntries(
      Array.from({ length: 20 }, (_, i) => [`blob${i}`, "z".repeat(EVENT_LIMITS.stringChars)]),
    );
    expect(acceptEvent({ ...base, attributes: manyBlobs })).toMatchObject({
      ok: false,
      reason: expect.stringMatching(/^event is larger than/),
    });
    expect(acceptEventLine(" ".repeat(EVENT_LIMITS.lineBytes + 1))).toEqual({
      ok: false,
      reason: `line is longer than ${EVENT_LIMITS.lineBytes} bytes`,
    });
  });

  it("returns the very same object when nothing needs changing", () => {
    const value = { ...base, attributes: { nested: [{ a: "ok" }] } };
    expect(normalizeEventStrings(value).value).toBe(value);
  });
});

/** `depth` arrays nested in one another around a string: `[[["x"]]]` is depth 3. */
function nested(depth: number): unknown {
  let value: unknown = "x";
  for (let i = 0; i < depth; i++) value = [value];
  return value;
}

/** The recursive walk normalizeEventStrings replaced, as a reference for what it must compute on shallow values. */
function referenceNormalize(node: unknown, path: string, report: { escaped: string[]; truncated: string[] }): unknown {
  if (typeof node === "string") return referenceString(node, path, report);
  if (Array.isArray(node))
    return node.map((item, i) => referenceNormalize(item, path ? `${path}.${i}` : String(i), report));
  if (typeof node === "object" && node !== null) {
    const out: Record<string, unknown> = {};
    for (const [key, child] of Object.entries(node)) {
      const shown = key.replace(
        /[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f]/g,
        (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`,
      );
      const fixedKey = referenceString(key, path ? `${path}.${shown}` : shown, report);
      out[fixedKey] = referenceNormalize(child, path ? `${path}.${fixedKey}` : fixedKey, report);
    }
    return out;
  }
  return node;
}

function referenceString(text: string, path: string, report: { escaped: string[]; truncated: string[] }): string {
  const escaped = text.replace(
    /[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f]/g,
    (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`,
  );
  if (escaped !== text) report.escaped.push(path);
  return escaped;
}

describe("bounded walking", () => {
  it("refuses a record nested 5,000 levels (10 KB) with a reason, without throwing", () => {
    const line = `{"id":"deep","time":"2026-03-05T10:00:00Z","attributes":{"x":${"[".repeat(5000)}${"]".repeat(5000)}}}`;
    expect(line.length).toBeLessThan(11_000);
    const result = acceptEventLine(line);
    expect(result).toMatchObject({
      ok: false,
      reason: expect.stringMatching(/^nested deeper than 64 levels \(at attributes\.x\.0\.0/),
    });
    const objects = { ...base, attributes: JSON.parse(`${'{"a":'.repeat(5000)}1${"}".repeat(5000)}`) };
    expect(acceptEvent(objects)).toMatchObject({ ok: false, reason: expect.stringMatching(/^nested deeper than 64/) });
  });

  it(`accepts ${EVENT_LIMITS.depth} levels of containers, the event itself the first, and refuses one more`, () => {
    // The event is level 1 and attributes level 2: the limit leaves depth - 2 arrays inside.
    const fits = acceptEvent({ ...base, attributes: { x: nested(EVENT_LIMITS.depth - 2) } });
    expect(fits.ok).toBe(true);
    const over = acceptEvent({ ...base, attributes: { x: nested(EVENT_LIMITS.depth - 1) } });
    expect(over).toMatchObject({ ok: false, reason: expect.stringMatching(/^nested deeper than/) });
  });

  it("writes any record as JSON for the quarantine, cutting what JSON.stringify cannot reach", () => {
    const deep = { id: "deep", attributes: nested(20_000) };
    expect(() => JSON.stringify(deep)).toThrow(RangeError);
    const text = recordText(deep);
    const parsed = JSON.parse(text) as { id: string; attributes: unknown };
    expect(parsed.id).toBe("deep");
    expect(text).toContain('"[nested too deep]"');
    expect(recordText({ a: [1, "b"] })).toBe('{"a":[1,"b"]}');
  });

  it("computes what the recursive walk computed, on random shallow values (seeded)", () => {
    const random = seededRandom(1609);
    const pieces = ["a", "b\u0001", "\u007fc", "ok", "k\u0007"];
    const randomValue = (depth: number): unknown => {
      const roll = random();
      if (depth > 4 || roll < 0.3) return pieces[Math.floor(random() * pieces.length)];
      if (roll < 0.4) return Math.floor(random() * 100);
      if (roll < 0.7) return Array.from({ length: Math.floor(random() * 4) }, () => randomValue(depth + 1));
      return Object.fromEntries(
        Array.from({ length: Math.floor(random() * 4) }, (_, i) => [
          `${pieces[Math.floor(random() * pieces.length)]}${i}`,
          randomValue(depth + 1),
        ]),
      );
    };
    for (let round = 0; round < 300; round++) {
      const value = randomValue(0);
      const report = { escaped: [] as string[], truncated: [] as string[] };
      const expected = referenceNormalize(value, "", report);
      const actual = normalizeEventStrings(value);
      expect(actual.value).toEqual(expected);
      expect(actual.escaped.sort()).toEqual([...new Set(report.escaped)].sort());
      expect(actual.tooDeep).toBeUndefined();
    }
  });
});

describe("time sanity", () => {
  const clock = { nowMs: Date.parse("2026-03-05T10:00:00Z"), maxFutureSkewMs: 5 * 60_000 };

  it("refuses an event further ahead of the clock than maxFutureSkew, naming the setting", () => {
    expect(acceptEvent({ ...base, time: "2099-01-01T00:00:00Z" }, clock)).toEqual({
      ok: false,
      reason: "field time: 2099-01-01T00:00:00Z is more than 5m ahead of the clock (events.maxFutureSkew)",
      field: "time",
    });
    expect(acceptEventLine(JSON.stringify({ ...base, time: "2026-03-05T10:05:01Z" }), clock).ok).toBe(false);
  });

  it("accepts events up to maxFutureSkew ahead, any age behind, and anything without a clock", () => {
    expect(acceptEvent({ ...base, time: "2026-03-05T10:05:00Z" }, clock).ok).toBe(true);
    expect(acceptEvent({ ...base, time: "1999-03-05T10:00:00Z" }, clock).ok).toBe(true);
    expect(acceptEvent({ ...base, time: "2099-01-01T00:00:00Z" }).ok).toBe(true);
  });
});
