import { pino, type Logger, type LevelWithSilent } from "pino";

export type { Logger } from "pino";

/** Keys whose values are secrets wherever they appear in a log record. */
export const REDACTED_PATHS = [
  "secret", "*.secret", "token", "*.token", "password", "*.password", "pass", "*.pass",
  "apiKey", "*.apiKey", "tokenKey", "*.tokenKey", "jwt", "*.jwt", "oauthToken", "*.oauthToken",
  "auth", "*.auth", "authorization", "*.authorization", "headers.authorization", "*.headers.authorization",
];

/** JSON logs on stderr (stdout stays free for command output). */
export function createLogger(options: { level?: LevelWithSilent; name?: string } = {}): Logger {
  return pino(
    {
      name: options.name ?? "vigil",
      level: options.level ?? "info",
      redact: { paths: REDACTED_PATHS, censor: "[redacted]" },
      base: { pid: process.pid },
      timestamp: pino.stdTimeFunctions.isoTime,
    },
    pino.destination({ fd: 2, sync: true }),
  );
}

/** A logger that drops everything (tests, library defaults). */
export const silentLogger: Logger = pino({ level: "silent" });
