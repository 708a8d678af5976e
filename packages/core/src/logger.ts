import { format } from "node:util";
import { pino, type DestinationStream, type Logger, type LevelWithSilent } from "pino";

export type { Logger } from "pino";

/** Keys whose values are secrets wherever they appear in a log record (or a config). */
export const SECRET_KEYS = [
  "secret",
  "token",
  "password",
  "pass",
  "apiKey",
  "tokenKey",
  "jwt",
  "oauthToken",
  "auth",
  "authorization",
] as const;

/** pino `redact` paths for {@link SECRET_KEYS}, at the top level and one level down. */
export const REDACTED_PATHS = [
  ...SECRET_KEYS.flatMap((key) => [key, `*.${key}`]),
  "headers.authorization",
  "*.headers.authorization",
];

const CENSOR = "[redacted]";
/** Secret values shorter than this are not scrubbed from free text (they would censor ordinary words). */
const MIN_SECRET_LENGTH = 4;

/**
 * Secret values known to this process (from the config: Redis password, SMTP and webhook secrets,
 * provider credentials). Every log line and every error message the CLI prints is scrubbed of them,
 * so a secret inside an error raised by a library (ioredis's AUTH arguments, a URL in a message)
 * never reaches stderr either.
 */
const knownSecrets = new Set<string>();
let secretPattern: RegExp | undefined;

/** Adds values to the process's secret list; short or empty values are ignored. */
export function registerSecrets(values: Iterable<string>): void {
  for (const value of values) {
    if (value.length < MIN_SECRET_LENGTH) continue;
    knownSecrets.add(value);
    // As it appears inside a JSON string (quotes, backslashes and control characters escaped).
    knownSecrets.add(JSON.stringify(value).slice(1, -1));
    // As it appears percent-encoded in a URL.
    knownSecrets.add(encodeURIComponent(value));
  }
  const alternatives = [...knownSecrets]
    .sort((a, b) => b.length - a.length)
    .map((s) => s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&"));
  secretPattern = alternatives.length ? new RegExp(alternatives.join("|"), "g") : undefined;
}

/** Forgets every registered secret (tests). */
export function clearSecrets(): void {
  knownSecrets.clear();
  secretPattern = undefined;
}

/** `scheme://user:password@` → `scheme://user:***@`, anywhere in a text. */
const URL_CREDENTIALS = /\b([a-z][a-z0-9+.-]*:\/\/)([^\s:@/"'\\]*):([^\s@/"'\\]+)@/gi;

/** A text with URL passwords and every registered secret replaced. */
export function redactSecrets(text: string): string {
  let out = text.replace(URL_CREDENTIALS, "$1$2:***@");
  if (secretPattern) out = out.replace(secretPattern, CENSOR);
  return out;
}

/** Names of config keys (and headers) whose values are secrets: `secret`, `token`, `pass`, `apiKey`, `tokenKey`, `x-api-key`, `authorization`… */
const SECRET_KEY_NAME = /secret|token|passw|^pass$|api[-_]?key|authorization|jwt|cookie|key$/i;

/**
 * The values under secret-named keys (anywhere in the object) and the passwords of URLs in
 * it: what {@link registerSecrets} should learn from a loaded config.
 */
export function collectSecrets(value: unknown): string[] {
  const found: string[] = [];
  const visit = (node: unknown, secretContext: boolean) => {
    if (typeof node === "string") {
      if (secretContext) found.push(node);
      for (const match of node.matchAll(URL_CREDENTIALS)) {
        const password = match[3];
        if (password) found.push(password, safeDecode(password));
      }
    } else if (Array.isArray(node)) {
      for (const item of node) visit(item, secretContext);
    } else if (typeof node === "object" && node !== null) {
      for (const [key, child] of Object.entries(node)) visit(child, secretContext || SECRET_KEY_NAME.test(key));
    }
  };
  visit(value, false);
  return [...new Set(found)];
}

function safeDecode(text: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    return text;
  }
}

/** An error as it appears in a log line: no raw library objects, no command arguments, no secrets. */
export interface SerializedError {
  /** The error's class name; absent when something other than an Error was thrown. */
  type?: string;
  message: string;
  code?: string | number;
  /** The Redis command that failed (its name only: arguments may hold a password). */
  command?: string;
  /** Only for errors that look like bugs; operational errors (network, Redis replies, Vigil's own) have none. */
  stack?: string;
  cause?: SerializedError;
  errors?: SerializedError[];
}

const OPERATIONAL_ERROR_NAMES = new Set([
  "ReplyError",
  "AbortError",
  "MaxRetriesPerRequestError",
  "ParserError",
  "UnrecoverableError",
  "DelayedError",
]);

/**
 * The one pino `err` serializer (also used for `error` fields and by the CLI's error output).
 * Takes anything thrown; keeps the type, message, code and the failing command's name, the
 * stack only for errors that look like bugs, and causes a few levels deep.
 */
export function serializeError(err: unknown, depth = 0): SerializedError {
  if (!(err instanceof Error)) {
    // An error already flattened by its logger ({ type, message, stack }) keeps its shape.
    if (typeof err === "object" && err !== null && typeof (err as { message?: unknown }).message === "string") {
      const flat = err as { type?: unknown; message: string; code?: unknown; stack?: unknown };
      const out: SerializedError = { message: redactSecrets(flat.message) };
      if (typeof flat.type === "string") out.type = flat.type;
      if (typeof flat.code === "string" || typeof flat.code === "number") out.code = flat.code;
      if (typeof flat.stack === "string") out.stack = redactSecrets(flat.stack);
      return out;
    }
    const text = typeof err === "string" ? err : safeInspect(err);
    return { message: redactSecrets(text) };
  }
  const fields = err as Error & { code?: unknown; command?: unknown; errors?: unknown; context?: unknown };
  const type = err.name || err.constructor?.name || "Error";
  const out: SerializedError = { type, message: redactSecrets(err.message) };
  if (typeof fields.code === "string" || typeof fields.code === "number") out.code = fields.code;
  const command = fields.command as { name?: unknown } | undefined;
  if (command && typeof command === "object" && typeof command.name === "string") out.command = command.name;
  const operational = out.code !== undefined || OPERATIONAL_ERROR_NAMES.has(type) || fields.context !== undefined;
  if (!operational && err.stack) out.stack = redactSecrets(err.stack);
  if (depth < 3) {
    if (err.cause !== undefined) out.cause = serializeError(err.cause, depth + 1);
    if (Array.isArray(fields.errors) && fields.errors.length)
      out.errors = fields.errors.slice(0, 5).map((inner) => serializeError(inner, depth + 1));
  }
  return out;
}

function safeInspect(value: unknown): string {
  try {
    return format("%o", value);
  } catch {
    return String(value);
  }
}

/** Warnings and errors identical to one logged less than this ago are counted, not written again. */
const REPEAT_WINDOW_MS = 10_000;

/**
 * A pino `logMethod` hook that writes an identical warning or error (same level, message and
 * fields) at most once per {@link REPEAT_WINDOW_MS}, adding `repeated: n` to the next one written:
 * an outage of Redis makes every queue and worker report the same error on each reconnect.
 */
function repeatLimiter(): (
  this: Logger,
  args: Parameters<Logger["info"]>,
  method: (...args: unknown[]) => void,
  level: number,
) => void {
  const lastWritten = new Map<string, { at: number; suppressed: number }>();
  return function (this: Logger, args, method, level) {
    if (level < 40) return method.apply(this, args as unknown[]);
    const key = `${level}|${safeKey(args)}`;
    const now = Date.now();
    const seen = lastWritten.get(key);
    if (seen && now - seen.at < REPEAT_WINDOW_MS) {
      seen.suppressed++;
      return;
    }
    if (lastWritten.size > 1_000) lastWritten.clear();
    lastWritten.set(key, { at: now, suppressed: 0 });
    const [first, ...rest] = args as unknown[];
    if (seen?.suppressed && typeof first === "object" && first !== null && !(first instanceof Error)) {
      return method.apply(this, [{ ...first, repeated: seen.suppressed }, ...rest]);
    }
    return method.apply(this, args as unknown[]);
  };
}

function safeKey(args: unknown): string {
  try {
    return JSON.stringify(args, (_key, value: unknown) =>
      value instanceof Error ? `${value.name}: ${value.message}` : value,
    );
  } catch {
    return String(args);
  }
}

/** JSON logs on stderr (stdout stays free for command output), scrubbed of every registered secret. */
export function createLogger(
  options: { level?: LevelWithSilent; name?: string; destination?: DestinationStream } = {},
): Logger {
  return pino(
    {
      name: options.name ?? "vigil",
      level: options.level ?? "info",
      redact: { paths: REDACTED_PATHS, censor: CENSOR },
      serializers: { err: serializeError, error: serializeError },
      hooks: { streamWrite: redactSecrets, logMethod: repeatLimiter() },
      base: { pid: process.pid },
      timestamp: pino.stdTimeFunctions.isoTime,
    },
    options.destination ?? pino.destination({ fd: 2, sync: true }),
  );
}

/**
 * Routes `console.error` and `console.warn` (what libraries such as BullMQ and ioredis print
 * unhandled errors with, raw objects included) through the logger, as redacted JSON lines.
 * Returns a function restoring the originals.
 */
export function captureConsole(logger: Logger): () => void {
  const original = { error: console.error, warn: console.warn };
  const route =
    (level: "error" | "warn") =>
    (...args: unknown[]) => {
      const errors = args.filter((arg): arg is Error => arg instanceof Error);
      const text = args
        .filter((arg) => !(arg instanceof Error))
        .map((arg) => (typeof arg === "string" ? arg : safeInspect(arg)));
      const fields: Record<string, unknown> = { component: "library" };
      if (errors[0]) fields.err = errors[0];
      logger[level](fields, redactSecrets(text.join(" ") || errors[0]?.message || "library output"));
    };
  console.error = route("error");
  console.warn = route("warn");
  return () => {
    console.error = original.error;
    console.warn = original.warn;
  };
}

/** A logger that drops everything (tests, library defaults). */
export const silentLogger: Logger = pino({ level: "silent" });
