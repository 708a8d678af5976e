import { describe, expect, it } from "vitest";
import { acceptEvent, acceptEventLine, EVENT_LIMITS, normalizeEventStrings } from "./event.js";

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
