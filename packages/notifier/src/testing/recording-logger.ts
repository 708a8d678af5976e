import { serializeError, type Logger } from "@vigil/core";

/** One log call as the code under test made it, with its child-logger bindings merged in. */
export interface LogRecord {
  level: string;
  msg: string | undefined;
  [field: string]: unknown;
}

/** A stand-in for pino that keeps every record in memory, for asserting on what is logged (with the same `err` serializer). */
export function recordingLogger(): { logger: Logger; records: LogRecord[] } {
  const records: LogRecord[] = [];
  const make = (bindings: Record<string, unknown>): unknown => {
    const at =
      (level: string) =>
      (fieldsOrMessage?: unknown, message?: string): void => {
        const fields = typeof fieldsOrMessage === "object" && fieldsOrMessage !== null ? fieldsOrMessage : {};
        const msg = typeof fieldsOrMessage === "string" ? fieldsOrMessage : message;
        // As createLogger's pino does: `err` goes through the one serializer.
        const serialized =
          "err" in fields ? { ...fields, err: serializeError((fields as { err: unknown }).err) } : fields;
        records.push({ ...bindings, ...serialized, level, msg });
      };
    return {
      level: "trace",
      child: (more: Record<string, unknown>) => make({ ...bindings, ...more }),
      trace: at("trace"),
      debug: at("debug"),
      info: at("info"),
      warn: at("warn"),
      error: at("error"),
      fatal: at("fatal"),
    };
  };
  return { logger: make({}) as Logger, records };
}
