import { constants } from "node:fs";
import type { FileSourceConfig } from "./file.config.js";
import { access, open, type FileHandle } from "node:fs/promises";
import {
  acceptEventLine,
  ConnectorError,
  EVENT_LIMITS,
  formatZodError,
  type AuditEvent,
  type SourceBinding,
} from "@vigil/core";
import { z } from "zod";
import type {
  Checkpoint,
  Connector,
  ConnectorDeps,
  PullOptions,
  RefusedRecord,
  SourcePage,
} from "../../kit/connector.js";
import { REFUSED_RECORD_BYTES } from "../../kit/connector.js";

/** Where the file connector resumes: the byte offset after the last consumed line, and that line's number. */
export const FileCheckpointSchema = z.strictObject({
  offset: z.number().int().min(0),
  line: z.number().int().min(0),
});
export type FileCheckpoint = z.infer<typeof FileCheckpointSchema>;

export interface FileConnectorOptions {
  /** Bytes read per `read()` call. */
  chunkBytes?: number;
  /** A line longer than this is refused (quarantined, its head kept) rather than a reason to grow the buffer without bound. */
  maxLineBytes?: number;
}

const NEWLINE = 0x0a;
const DEFAULT_CHUNK_BYTES = 64 * 1024;
/** The same limit replay applies (core's `acceptEventLine`), so both refuse the same lines. */
const DEFAULT_MAX_LINE_BYTES = EVENT_LIMITS.lineBytes;

/**
 * Tails a JSON-lines file of AuditEvents. Only complete lines are consumed: a trailing line
 * without a newline may still be being written and waits for the next pull.
 */
export function createFileConnector(
  config: FileSourceConfig,
  _deps?: ConnectorDeps,
  options: FileConnectorOptions = {},
): Connector {
  const source = config.name;
  const chunkBytes = options.chunkBytes ?? DEFAULT_CHUNK_BYTES;
  const maxLineBytes = options.maxLineBytes ?? DEFAULT_MAX_LINE_BYTES;
  // A file source is its own source: its lines cannot name another, and their ids are its own.
  const binding: SourceBinding = {
    name: source,
    ...(config.provider === undefined ? {} : { provider: config.provider }),
  };

  function startingPoint(from: Checkpoint | undefined): FileCheckpoint {
    if (from === undefined) return { offset: 0, line: 0 };
    const parsed = FileCheckpointSchema.safeParse(from);
    if (parsed.success) return parsed.data;
    throw new ConnectorError(
      source,
      `stored checkpoint is not a file checkpoint (${formatZodError(parsed.error)}); start again with \`vigil sources reset ${source}\``,
      {
        retryable: false,
      },
    );
  }

  async function openFile(): Promise<FileHandle> {
    try {
      return await open(config.path, "r");
    } catch (err) {
      throw new ConnectorError(
        source,
        `cannot read ${config.path}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`,
        { page: config.path },
        { cause: err },
      );
    }
  }

  /** Core's `acceptEventLine`: the live source and `vigil replay` accept and refuse exactly the same lines. */
  function parseLine(line: Line, lineNumber: number): AuditEvent | RefusedRecord {
    const position = `${config.path}:${lineNumber}`;
    const accepted: ReturnType<typeof acceptEventLine> = line.tooLong
      ? { ok: false, reason: `line is longer than ${maxLineBytes} bytes` }
      : acceptEventLine(line.text, undefined, binding);
    if (accepted.ok) return accepted.event;
    return {
      position,
      reason: accepted.reason,
      ...(accepted.field === undefined ? {} : { field: accepted.field }),
      raw: line.text,
      format: "event-line",
      identity: position,
    };
  }

  async function* pull(from: Checkpoint | undefined, { signal, now }: PullOptions): AsyncGenerator<SourcePage> {
    const start = startingPoint(from);
    const handle = await openFile();
    try {
      const { size } = await handle.stat();
      if (start.offset > size) {
        throw new ConnectorError(
          source,
          `${config.path} has ${size} bytes but its checkpoint is at byte ${start.offset}: the file was truncated or replaced; read it again from the start with \`vigil sources reset ${source}\``,
          { retryable: false, page: config.path },
        );
      }
      let consumed = start;
      let events: AuditEvent[] = [];
      let refused: RefusedRecord[] = [];
      const page = (): SourcePage => ({ events, checkpoint: consumed, ...(refused.length ? { refused } : {}) });
      for await (const line of completeLines(handle, start.offset, chunkBytes, maxLineBytes)) {
        signal.throwIfAborted();
        const lineNumber = consumed.line + 1;
        const next = { offset: consumed.offset + line.bytes, line: lineNumber };
        if (line.tooLong || line.text.trim() !== "") {
          const parsed = parseLine(line, lineNumber);
          if ("format" in parsed) refused.push(parsed);
          else events.push(parsed);
        }
        consumed = next;
        if (events.length >= config.batchSize || refused.length >= config.batchSize) {
          yield page();
          events = [];
          refused = [];
        }
      }
      // The end of the file at `now`: every line of event time before now − lookback is in.
      yield { ...page(), watermark: now.getTime() - config.lookback };
    } finally {
      await handle.close();
    }
  }

  /** Before the first complete line whose event is of `time` or later (lines that do not parse are passed over); else after the last. */
  async function checkpointAt(time: Date, options: { signal?: AbortSignal } = {}): Promise<FileCheckpoint> {
    const handle = await openFile();
    try {
      let at: FileCheckpoint = { offset: 0, line: 0 };
      for await (const line of completeLines(handle, 0, chunkBytes, maxLineBytes)) {
        options.signal?.throwIfAborted();
        const accepted = line.tooLong ? undefined : acceptEventLine(line.text, undefined, binding);
        if (accepted?.ok && Date.parse(accepted.event.time) >= time.getTime()) return at;
        at = { offset: at.offset + line.bytes, line: at.line + 1 };
      }
      return at;
    } finally {
      await handle.close();
    }
  }

  return {
    source,
    provider: "file",
    pull,
    checkpointAt,
    async check() {
      try {
        await access(config.path, constants.R_OK);
      } catch (err) {
        throw new ConnectorError(
          source,
          `cannot read ${config.path}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`,
          { retryable: false, page: config.path },
          { cause: err },
        );
      }
      const handle = await openFile();
      try {
        if (!(await handle.stat()).isFile())
          throw new ConnectorError(source, `${config.path} is not a regular file`, {
            retryable: false,
            page: config.path,
          });
      } finally {
        await handle.close();
      }
    },
  };
}

/** One complete line: its text (only the first {@link REFUSED_RECORD_BYTES} of an over-long one) and its size with the newline. */
interface Line {
  text: string;
  bytes: number;
  /** Longer than the limit: its text is cut and it is refused unparsed. */
  tooLong: boolean;
}

/**
 * Newline-terminated lines from `offset` on, read in chunks; the unterminated tail is left
 * alone. Memory stays within one chunk plus one line of at most `maxLineBytes`: of a longer
 * line only the head is kept, the rest is skipped up to its newline.
 */
async function* completeLines(
  handle: FileHandle,
  offset: number,
  chunkBytes: number,
  maxLineBytes: number,
): AsyncGenerator<Line> {
  const chunk = Buffer.allocUnsafe(chunkBytes);
  const keptOfLong = Math.min(maxLineBytes, REFUSED_RECORD_BYTES);
  let position = offset;
  // The start of a line still waiting for its newline, as copied chunks (joined once, when it ends).
  let pending: Buffer[] = [];
  let pendingBytes = 0;
  // Bytes of an over-long line seen so far (its head is in `pending`), or 0.
  let longBytes = 0;
  for (;;) {
    const { bytesRead } = await handle.read(chunk, 0, chunkBytes, position);
    if (bytesRead === 0) return;
    position += bytesRead;
    let buffer = chunk.subarray(0, bytesRead);
    let newline = buffer.indexOf(NEWLINE);
    while (newline !== -1) {
      const head = buffer.subarray(0, newline);
      if (longBytes > 0) {
        yield { text: Buffer.concat(pending).toString("utf8"), bytes: longBytes + newline + 1, tooLong: true };
        longBytes = 0;
      } else {
        const lineBytes = pendingBytes === 0 ? head : Buffer.concat([...pending, head]);
        const tooLong = pendingBytes + newline > maxLineBytes;
        const text = (tooLong ? lineBytes.subarray(0, keptOfLong) : lineBytes).toString("utf8");
        yield { text: tooLong ? text : text.replace(/\r$/, ""), bytes: pendingBytes + newline + 1, tooLong };
      }
      pending = [];
      pendingBytes = 0;
      buffer = buffer.subarray(newline + 1);
      newline = buffer.indexOf(NEWLINE);
    }
    if (buffer.length === 0) continue;
    if (longBytes > 0) {
      longBytes += buffer.length;
    } else if (pendingBytes + buffer.length > maxLineBytes) {
      // Too long to parse: keep its head for the quarantine and skip the rest up to its newline.
      const all = Buffer.concat([...pending, buffer]);
      longBytes = all.length;
      pending = [Buffer.from(all.subarray(0, keptOfLong))];
      pendingBytes = 0;
    } else {
      // Copied: `chunk` is reused by the next read.
      pending.push(Buffer.from(buffer));
      pendingBytes += buffer.length;
    }
  }
}
