/**
 * Records a provider (or a file) can hand Vigil that are hard to carry: lone surrogates, control
 * characters, MB-sized attributes, unknown fields, broken JSON. Seeded, so a run can be repeated.
 */

export type HostileKind =
  | "good"
  | "partial"
  | "lone-surrogate-id"
  | "lone-surrogate-attribute"
  | "control-characters"
  | "huge-attribute"
  | "unknown-field"
  | "invalid-json"
  | "bad-time"
  | "huge-id"
  | "huge-line"
  | "two-mib-attribute"
  | "many-large-attributes"
  | "deep-nesting"
  | "future-time"
  | "regex-bomb";

export const SAFE_KINDS: readonly HostileKind[] = [
  "good",
  "partial",
  "lone-surrogate-id",
  "lone-surrogate-attribute",
  "control-characters",
  "huge-attribute",
];
export const BAD_KINDS: readonly HostileKind[] = ["unknown-field", "invalid-json", "bad-time", "huge-id", "huge-line"];

/** One JSON line of the given kind; `n` makes it unique, `time` is its event time. */
export function hostileLine(kind: HostileKind, n: number, time: string, fields: Record<string, unknown> = {}): string {
  const full = {
    id: `file:${n}`,
    source: "file",
    provider: "file",
    nativeId: String(n),
    time,
    action: "login",
    category: "authentication",
    outcome: "success",
    actor: { id: `user-${n % 7}` },
    target: {},
    attributes: {},
    raw: { n },
    ...fields,
  };
  switch (kind) {
    case "good":
      return JSON.stringify(full);
    case "partial":
      return JSON.stringify({ id: full.id, time, action: full.action, actor: full.actor, ...fields });
    case "lone-surrogate-id":
      // JSON.stringify writes a lone surrogate as the escape \udXXX, as a provider's JSON would.
      return JSON.stringify({ ...full, id: `lone-\ud83d-${n}`, nativeId: `lone-\ud83d-${n}` });
    case "lone-surrogate-attribute":
      return JSON.stringify({
        ...full,
        actor: { ...full.actor, name: `\udc00name-${n}` },
        attributes: { note: `half \ud83d`, [`key-\udfff-${n}`]: 1 },
      });
    case "control-characters":
      return JSON.stringify({
        ...full,
        action: `${full.action}`,
        target: { name: `bad\u0000\u0007\u001b[31m-${n}` },
        attributes: { "k\u0001": "v\u007f" },
      });
    case "huge-attribute":
      return JSON.stringify({ ...full, attributes: { blob: "A".repeat(1024 * 1024 + (n % 1000)) } });
    case "unknown-field":
      return JSON.stringify({ ...full, colour: "red" });
    case "invalid-json":
      return `{"id":"file:${n}","time":"${time}",`;
    case "bad-time":
      return JSON.stringify({ ...full, time: "yesterday" });
    case "huge-id":
      return JSON.stringify({ ...full, id: `file:${"9".repeat(2000)}${n}` });
    case "huge-line":
      return JSON.stringify({ ...full, attributes: { blob: "B".repeat(17 * 1024 * 1024) } });
    case "two-mib-attribute":
      // One string far over the 64 Ki-character cut: accepted, cut with a marker.
      return JSON.stringify({ ...full, attributes: { blob: "C".repeat(2 * 1024 * 1024 + (n % 1000)) } });
    case "deep-nesting":
      // 5,000 arrays in one another (10 KB): refused, where a recursive walk ran out of stack.
      return JSON.stringify({ ...full, attributes: { x: "@" } }).replace(
        '"@"',
        `${"[".repeat(5000)}${"]".repeat(5000)}`,
      );
    case "future-time":
      // Far past events.maxFutureSkew: refused, where it once made every later event late.
      return JSON.stringify({ ...full, time: "2099-01-01T00:00:00Z" });
    case "regex-bomb":
      // A name that makes `^([A-Za-z]+ ?)+$` backtrack for ages; accepted, matched in linear time.
      return JSON.stringify({ ...full, target: { name: `${"a".repeat(50_000)}!` } });
    case "many-large-attributes": {
      // Twenty strings under the cut that still add up to more than an event may hold: refused.
      const attributes: Record<string, string> = {};
      for (let i = 0; i < 20; i++) attributes[`part${i}`] = "D".repeat(60 * 1024);
      return JSON.stringify({ ...full, attributes });
    }
  }
}
