import { z } from "zod";
import { formatDuration } from "./duration.js";

export const EVENT_CATEGORIES = [
  "authentication",
  "create",
  "read",
  "update",
  "delete",
  "permission",
  "export",
  "other",
] as const;
export const EVENT_OUTCOMES = ["success", "failure", "unknown"] as const;

export const EventCategorySchema = z.enum(EVENT_CATEGORIES);
export const EventOutcomeSchema = z.enum(EVENT_OUTCOMES);

export const ActorSchema = z.strictObject({
  id: z.string().optional(),
  name: z.string().optional(),
  email: z.string().optional(),
  type: z.string().optional(),
});

export const TargetSchema = z.strictObject({
  id: z.string().optional(),
  type: z.string().optional(),
  name: z.string().optional(),
});

/**
 * A JSON object whose contents are the provider's (kept as received). Checked for shape only:
 * walking every key of every raw record would cost more than the rest of the event's checks.
 */
const OpaqueObjectSchema = z.custom<Record<string, unknown>>(
  (value) => typeof value === "object" && value !== null && !Array.isArray(value),
  { message: "expected an object" },
);

/**
 * Where an event's IP address is, as the engine's IP enrichment looked it up in an offline
 * database before any rule ran (fields the database does not have are absent).
 */
export const GeoSchema = z.strictObject({
  /** ISO 3166-1 alpha-2 country code, e.g. "FR". */
  country: z.string().optional(),
  city: z.string().optional(),
  latitude: z.number().min(-90).max(90).optional(),
  longitude: z.number().min(-180).max(180).optional(),
  /** How far (km) the address may be from the coordinates. */
  accuracyRadius: z.number().min(0).optional(),
  /** Autonomous system number and organization. */
  asn: z.number().int().optional(),
  asOrganization: z.string().optional(),
});
export type Geo = z.infer<typeof GeoSchema>;

const InstantSchema = z.iso.datetime({ offset: true }).describe("ISO-8601 instant, e.g. 2026-01-31T12:00:00Z");

/** The normalized audit event every connector produces (DESIGN.md, "The normalized event"). */
export const AuditEventSchema = z.strictObject({
  id: z.string().min(1),
  source: z.string().min(1),
  provider: z.string().min(1),
  nativeId: z.string().min(1),
  time: InstantSchema,
  action: z.string(),
  category: EventCategorySchema,
  outcome: EventOutcomeSchema,
  actor: ActorSchema,
  target: TargetSchema,
  ip: z.string().optional(),
  /** Set by the engine's IP enrichment (or given by the event itself, which enrichment keeps). */
  geo: GeoSchema.optional(),
  attributes: OpaqueObjectSchema,
  raw: OpaqueObjectSchema,
});
export type AuditEvent = z.infer<typeof AuditEventSchema>;
export type EventCategory = z.infer<typeof EventCategorySchema>;
export type EventOutcome = z.infer<typeof EventOutcomeSchema>;

/**
 * An event as written by hand (rule tests, replay files): only `id` and `time` are required,
 * every other field takes a neutral default.
 */
export const PartialAuditEventSchema = z
  .strictObject({
    id: z.string().min(1),
    time: InstantSchema,
    source: z.string().min(1).default("replay"),
    provider: z.string().min(1).default("replay"),
    nativeId: z.string().min(1).optional(),
    action: z.string().default(""),
    category: EventCategorySchema.default("other"),
    outcome: EventOutcomeSchema.default("unknown"),
    actor: ActorSchema.default({}),
    target: TargetSchema.default({}),
    ip: z.string().optional(),
    geo: GeoSchema.optional(),
    attributes: OpaqueObjectSchema.default({}),
    raw: OpaqueObjectSchema.default({}),
  })
  .transform((e): AuditEvent => ({ ...e, nativeId: e.nativeId ?? e.id }));
export type PartialAuditEvent = z.input<typeof PartialAuditEventSchema>;

/** Milliseconds since the epoch of an event's `time`. */
export function eventTimeMs(event: Pick<AuditEvent, "time">): number {
  return Date.parse(event.time);
}

/**
 * Limits every record is held to wherever it enters Vigil (live sources, replay, rule tests),
 * applied by {@link acceptEvent} and {@link acceptEventLine} so all of them accept and refuse
 * exactly the same records.
 */
export const EVENT_LIMITS = {
  /** A JSON line longer than this is refused before it is parsed. */
  lineBytes: 16 * 1024 * 1024,
  /** A string value longer than this is cut, with a marker saying how much was cut. */
  stringChars: 64 * 1024,
  /** `id`, `nativeId`, `source` and `provider` longer than this refuse the record (cutting ids would merge distinct events). */
  identityChars: 1024,
  /** An event whose strings still add up to more than this after cutting is refused. */
  eventChars: 1024 * 1024,
  /** Objects and arrays nested deeper than this refuse the record (the event itself is level 1; audit logs need a handful). */
  depth: 64,
} as const;

/** Lone UTF-16 surrogates (which no JSON decoder outside JavaScript accepts) and C0 controls other than tab, newline and carriage return, and DEL. */
const UNSAFE_CHARS =
  /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]|[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f]/g;

function escapeUnsafe(char: string): string {
  return `\\u${char.charCodeAt(0).toString(16).padStart(4, "0")}`;
}

function escapeAll(text: string): string {
  return text.replace(UNSAFE_CHARS, escapeUnsafe);
}

/** What {@link normalizeEventStrings} changed. */
export interface StringNormalization {
  /** Dotted paths of strings whose unsafe characters were written out as `\uXXXX` text. */
  escaped: string[];
  /** Dotted paths of strings cut to {@link EVENT_LIMITS.stringChars}. */
  truncated: string[];
  /** Characters of every key and string, after cutting (a cheap size measure). */
  chars: number;
  /**
   * Set when the value nests objects and arrays deeper than {@link EVENT_LIMITS.depth}: the dotted
   * path of the first container too deep. The walk stops there and `value` is the input unchanged.
   */
  tooDeep?: string;
}

type Container = unknown[] | Record<string, unknown>;

/** One object or array being walked: its entries, the one being visited, and its copy once a child changed. */
interface WalkFrame {
  node: Container;
  path: string;
  entries: [string, unknown][];
  index: number;
  /** The current entry's key as fixed (objects), and its path. */
  key: string;
  childPath: string;
  copy?: Container;
}

function isContainer(value: unknown): value is Container {
  return typeof value === "object" && value !== null;
}

/**
 * Makes every string of a parsed JSON value safe to carry anywhere (Redis Lua's cjson, email
 * headers, logs): lone surrogates and control characters become the visible text `\uXXXX`
 * (so distinct ids stay distinct), and strings longer than {@link EVENT_LIMITS.stringChars}
 * are cut. Object keys are treated like values. Returns the input itself when nothing changed.
 * Walks with an explicit stack and stops at {@link EVENT_LIMITS.depth} levels (`tooDeep`), so
 * no record can exhaust the call stack.
 */
export function normalizeEventStrings<T>(value: T): { value: T } & StringNormalization {
  const report: StringNormalization = { escaped: [], truncated: [], chars: 0 };
  const fixString = (text: string, path: string): string => {
    let out = text;
    if (out.length > EVENT_LIMITS.stringChars) {
      const cut = out.length - EVENT_LIMITS.stringChars;
      // Never split a surrogate pair at the cut.
      let end = EVENT_LIMITS.stringChars;
      const last = out.charCodeAt(end - 1);
      if (last >= 0xd800 && last <= 0xdbff) end -= 1;
      out = `${out.slice(0, end)}…[${cut} characters cut]`;
      report.truncated.push(path);
    }
    UNSAFE_CHARS.lastIndex = 0;
    if (UNSAFE_CHARS.test(out)) {
      out = out.replace(UNSAFE_CHARS, escapeUnsafe);
      report.escaped.push(path);
    }
    report.chars += out.length;
    return out;
  };
  const fixLeaf = (node: unknown, path: string): unknown => {
    if (typeof node === "string") return fixString(node, path);
    if (typeof node === "number" || typeof node === "boolean") report.chars += 8;
    return node;
  };
  const done = (fixed: unknown) => ({
    value: fixed as T,
    escaped: [...new Set(report.escaped)],
    truncated: [...new Set(report.truncated)],
    chars: report.chars,
  });
  if (!isContainer(value)) return done(fixLeaf(value, ""));

  const frame = (node: Container, path: string): WalkFrame => ({
    node,
    path,
    entries: Array.isArray(node) ? node.map((item, i) => [String(i), item]) : Object.entries(node),
    index: -1,
    key: "",
    childPath: "",
  });
  /** Records the current entry's fixed value in its frame (copying the container on the first change). */
  const settle = (top: WalkFrame, fixed: unknown) => {
    const [key, child] = top.entries[top.index]!;
    if (top.key === key && fixed === child) return;
    if (Array.isArray(top.node)) {
      top.copy ??= [...top.node];
      (top.copy as unknown[])[top.index] = fixed;
      return;
    }
    top.copy ??= Object.fromEntries(top.entries);
    const copy = top.copy as Record<string, unknown>;
    if (top.key !== key) delete copy[key];
    copy[top.key] = fixed;
  };
  const stack: WalkFrame[] = [frame(value, "")];
  for (;;) {
    const top = stack[stack.length - 1]!;
    top.index += 1;
    if (top.index >= top.entries.length) {
      stack.pop();
      const result = top.copy ?? top.node;
      const parent = stack[stack.length - 1];
      if (!parent) return done(result);
      settle(parent, result);
      continue;
    }
    const [key, child] = top.entries[top.index]!;
    if (Array.isArray(top.node)) top.key = key;
    else top.key = fixString(key, top.path ? `${top.path}.${escapeAll(key)}` : escapeAll(key));
    top.childPath = top.path ? `${top.path}.${top.key}` : top.key;
    if (!isContainer(child)) {
      settle(top, fixLeaf(child, top.childPath));
      continue;
    }
    if (stack.length >= EVENT_LIMITS.depth) return { ...done(value), tooDeep: top.childPath };
    stack.push(frame(child, top.childPath));
  }
}

/**
 * A parsed record as JSON text for the quarantine, whatever it holds: what JSON.stringify gives,
 * or, for a value nested too deep for it, the same with every container below
 * {@link EVENT_LIMITS.depth} levels written as the string `"[nested too deep]"`. Never throws.
 */
export function recordText(value: unknown): string {
  try {
    return JSON.stringify(value) ?? String(value);
  } catch {
    const depths = new WeakMap<object, number>();
    return JSON.stringify(value, function cut(this: unknown, _key: string, child: unknown) {
      const depth = isContainer(this) ? (depths.get(this) ?? 0) + 1 : 0;
      if (!isContainer(child)) return child;
      if (depth > EVENT_LIMITS.depth) return "[nested too deep]";
      depths.set(child, depth);
      return child;
    });
  }
}

/**
 * The wall clock an event is accepted against: an event whose time lies more than
 * `maxFutureSkewMs` after `nowMs` is refused (config `events.maxFutureSkew`). Live sources and
 * replay pass one; rule tests do not (their events are fixtures, whatever today's date).
 */
export interface AcceptanceClock {
  nowMs: number;
  maxFutureSkewMs: number;
}

/** Why a record was refused, naming the field when one is at fault. */
export interface EventRefusal {
  ok: false;
  reason: string;
  field?: string;
}

/** An accepted record, normalized; `escaped`/`truncated` list what normalization changed. */
export interface EventAcceptance {
  ok: true;
  event: AuditEvent;
  escaped: string[];
  truncated: string[];
}

const IDENTITY_FIELDS = ["id", "nativeId", "source", "provider"] as const;

/**
 * The source a record enters through, when that source speaks only for itself (a file source):
 * its records carry its name as `source` (a record naming another source is refused: a file
 * cannot impersonate a provider), its declared `provider` if it has one, and ids namespaced by
 * the source (`<source>:<id>`, unless already so), so that no source can claim another's event id.
 */
export interface SourceBinding {
  name: string;
  provider?: string;
}

function bindToSource(value: unknown, binding: SourceBinding): { value: unknown } | EventRefusal {
  if (typeof value !== "object" || value === null || Array.isArray(value)) return { value };
  const record = { ...(value as Record<string, unknown>) };
  if (record.source !== undefined && record.source !== binding.name)
    return {
      ok: false,
      reason: `names source ${JSON.stringify(String(record.source).slice(0, 200))}, but its lines are source "${binding.name}"'s: a file source cannot speak for another source`,
      field: "source",
    };
  record.source = binding.name;
  if (binding.provider !== undefined) {
    if (record.provider !== undefined && record.provider !== binding.provider)
      return {
        ok: false,
        reason: `names provider ${JSON.stringify(String(record.provider).slice(0, 200))}, but source "${binding.name}" is declared as provider "${binding.provider}"`,
        field: "provider",
      };
    record.provider = binding.provider;
  }
  if (typeof record.id === "string" && !record.id.startsWith(`${binding.name}:`))
    record.id = `${binding.name}:${record.id}`;
  return { value: record };
}

/**
 * The one acceptance rule for records entering Vigil: normalizes strings
 * ({@link normalizeEventStrings}), checks the record against {@link PartialAuditEventSchema}
 * (a full AuditEvent passes as is; unknown fields are refused), then the identity, size and
 * depth limits and, given a clock, the future limit. Refuses per record with a reason; never throws.
 */
export function acceptEvent(
  value: unknown,
  clock?: AcceptanceClock,
  binding?: SourceBinding,
): EventAcceptance | EventRefusal {
  try {
    if (binding) {
      const bound = bindToSource(value, binding);
      if ("ok" in bound) return bound;
      value = bound.value;
    }
    return acceptNormalized(value, clock);
  } catch (err) {
    // Nothing above should throw; a record that still finds a way is refused, not fatal to its source.
    return { ok: false, reason: `record could not be read: ${(err as Error).message}` };
  }
}

function acceptNormalized(value: unknown, clock: AcceptanceClock | undefined): EventAcceptance | EventRefusal {
  const normalized = normalizeEventStrings(value);
  if (normalized.tooDeep !== undefined) {
    return {
      ok: false,
      reason: `nested deeper than ${EVENT_LIMITS.depth} levels (at ${normalized.tooDeep.slice(0, 200)})`,
    };
  }
  if (normalized.chars > EVENT_LIMITS.eventChars) {
    return {
      ok: false,
      reason: `event is larger than ${EVENT_LIMITS.eventChars} characters even with long strings cut (${normalized.chars})`,
    };
  }
  const parsed = PartialAuditEventSchema.safeParse(normalized.value);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    if (!issue) return { ok: false, reason: "not an event" };
    if (issue.code === "unrecognized_keys") {
      return {
        ok: false,
        reason: `unknown field(s) ${issue.keys.join(", ")}`,
        ...(issue.keys[0] ? { field: [...issue.path, issue.keys[0]].join(".") } : {}),
      };
    }
    const field = issue.path.join(".");
    return field
      ? { ok: false, reason: `field ${field}: ${issue.message}`, field }
      : { ok: false, reason: issue.message };
  }
  for (const field of IDENTITY_FIELDS) {
    if (parsed.data[field].length > EVENT_LIMITS.identityChars) {
      return { ok: false, reason: `field ${field}: longer than ${EVENT_LIMITS.identityChars} characters`, field };
    }
  }
  if (clock && eventTimeMs(parsed.data) > clock.nowMs + clock.maxFutureSkewMs) {
    return {
      ok: false,
      reason: `field time: ${parsed.data.time} is more than ${formatDuration(clock.maxFutureSkewMs)} ahead of the clock (events.maxFutureSkew)`,
      field: "time",
    };
  }
  return { ok: true, event: parsed.data, escaped: normalized.escaped, truncated: normalized.truncated };
}

/** {@link acceptEvent} for one line of a JSON-lines file (live file source and replay alike). */
export function acceptEventLine(
  line: string,
  clock?: AcceptanceClock,
  binding?: SourceBinding,
): EventAcceptance | EventRefusal {
  if (line.length > EVENT_LIMITS.lineBytes || Buffer.byteLength(line, "utf8") > EVENT_LIMITS.lineBytes) {
    return { ok: false, reason: `line is longer than ${EVENT_LIMITS.lineBytes} bytes` };
  }
  let value: unknown;
  try {
    value = JSON.parse(line);
  } catch (err) {
    return { ok: false, reason: `invalid JSON: ${(err as Error).message}` };
  }
  return acceptEvent(value, clock, binding);
}

/**
 * One action a provider's audit log records, as its connector normalizes it: the verbatim
 * `action`, the `category` it gets and the outcomes it can have. A provider's list of them is its
 * action vocabulary (each provider's manifest exports it; rules are checked against it).
 */
export interface ActionVocabularyEntry {
  action: string;
  category: EventCategory;
  outcomes: readonly EventOutcome[];
  /** What the action records, where its name does not say (e.g. the target types it applies to). */
  note?: string;
}
export type ActionVocabulary = readonly ActionVocabularyEntry[];
