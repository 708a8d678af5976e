import { afterEach, describe, expect, it } from "vitest";
import {
  captureConsole,
  clearSecrets,
  collectSecrets,
  createLogger,
  redactSecrets,
  registerSecrets,
  serializeError,
} from "./logger.js";

/** A logger writing to memory; returns the parsed lines. */
function memoryLogger() {
  const lines: string[] = [];
  const logger = createLogger({ level: "debug", destination: { write: (line: string) => void lines.push(line) } });
  return { logger, lines, records: () => lines.map((line) => JSON.parse(line) as Record<string, unknown>) };
}

/** What ioredis emits when Redis refuses AUTH: the password rides in `command.args`. */
function replyError(password: string): Error {
  const err = new Error("WRONGPASS invalid username-password pair or user is disabled.");
  err.name = "ReplyError";
  return Object.assign(err, { command: { name: "auth", args: [password] } });
}

afterEach(() => clearSecrets());

describe("secrets in logs", () => {
  it("serializes a Redis reply error without its command arguments or stack", () => {
    const serialized = serializeError(replyError("hunter2-redis"));
    expect(serialized).toEqual({
      type: "ReplyError",
      message: "WRONGPASS invalid username-password pair or user is disabled.",
      command: "auth",
    });
  });

  it("keeps the stack of errors that look like bugs, and causes", () => {
    const err = new TypeError("x is undefined", {
      cause: Object.assign(new Error("connect ECONNREFUSED"), { code: "ECONNREFUSED" }),
    });
    const serialized = serializeError(err);
    expect(serialized.stack).toContain("TypeError: x is undefined");
    expect(serialized.cause).toEqual({ type: "Error", message: "connect ECONNREFUSED", code: "ECONNREFUSED" });
  });

  it("collects every secret of a config: secret-named keys at any depth and URL passwords", () => {
    const config = {
      redis: { url: "redis://user:p%40ss-word@cache:6379/0" },
      channels: [
        { smtp: { auth: { user: "vigil", pass: "smtp-pass" } } },
        { secret: "whsec_abc123", headers: { "x-api-key": "hdr-key", "x-team": "soc" } },
      ],
      sources: [
        { auth: { email: "secops@acme.example", tokenId: "id-1", tokenKey: "key-1" } },
        { auth: { apiKey: "ashby-key" } },
      ],
      name: "not-a-secret",
    };
    expect(collectSecrets(config).sort()).toEqual(
      ["ashby-key", "hdr-key", "id-1", "key-1", "p%40ss-word", "p@ss-word", "smtp-pass", "whsec_abc123"].sort(),
    );
  });

  it("scrubs registered secrets and URL passwords from every line, whatever the field or level", () => {
    registerSecrets(["hunter2-redis", "whsec_abc123", 'quo"te\\pass']);
    const { logger, lines } = memoryLogger();
    logger.error({ err: replyError("hunter2-redis") }, "redis error");
    logger.info({ detail: "sent with whsec_abc123", url: "rediss://:other-pass@host:6380" }, "something");
    logger.debug({ nested: { deep: ['quo"te\\pass'] } }, "escaped form");
    logger.warn(new Error("auth failed for hunter2-redis"));
    const text = lines.join("");
    expect(text).not.toMatch(/hunter2-redis|whsec_abc123|other-pass|quo\\"te/);
    expect(text).toContain("rediss://:***@host:6380");
    expect(lines).toHaveLength(4);
  });

  it("ignores values too short to scrub safely", () => {
    registerSecrets(["ab", ""]);
    expect(redactSecrets("abc ab")).toBe("abc ab");
  });

  it("routes what libraries print with console.error through the logger as JSON", () => {
    registerSecrets(["hunter2-redis"]);
    const { logger, records } = memoryLogger();
    const restore = captureConsole(logger);
    try {
      console.error(replyError("hunter2-redis"));
      console.warn("[ioredis] Unhandled error event:", "Error: connect ECONNREFUSED redis://:hunter2-redis@x:1");
    } finally {
      restore();
    }
    const [first, second] = records();
    expect(first).toMatchObject({ level: 50, component: "library", err: { type: "ReplyError", command: "auth" } });
    expect(second).toMatchObject({
      level: 40,
      msg: "[ioredis] Unhandled error event: Error: connect ECONNREFUSED redis://:***@x:1",
    });
    expect(JSON.stringify(records())).not.toContain("hunter2-redis");
  });

  it("writes an identical warning or error once per window and counts the repeats", () => {
    const { logger, records } = memoryLogger();
    for (let i = 0; i < 50; i++) logger.error({ queue: "q", err: new Error("connect ECONNREFUSED") }, "worker error");
    for (let i = 0; i < 3; i++) logger.error({ jobId: String(i), err: new Error("boom") }, "batch failed");
    for (let i = 0; i < 3; i++) logger.info("same info line");
    const written = records().map((r) => `${String(r.msg)}${r.jobId === undefined ? "" : `#${String(r.jobId)}`}`);
    expect(written).toEqual([
      "worker error",
      "batch failed#0",
      "batch failed#1",
      "batch failed#2",
      "same info line",
      "same info line",
      "same info line",
    ]);
  });
});
