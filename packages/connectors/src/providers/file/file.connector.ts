import { constants } from "node:fs";
import type { FileSourceConfig } from "./file.config.js";
import { access, open, type FileHandle } from "node:fs/promises";
import { acceptEventLine, ConnectorError, EVENT_LIMITS, formatZodError, type AuditEvent } from "@vigil/core";
import { z } from "zod";
import type { Checkpoint, Connector, ConnectorDeps, PullOptions, SourcePage } from "../../kit/connector.js";

/** Where the file connector resumes: the byte offset after the last consumed line, and that line's number. */
export const FileCheckpointSchema = z.strictObject({
  offset: z.number().int().min(0),
  line: z.number().int().min(0),
});
export type FileCheckpoint = z.infer<typeof FileCheckpointSchema>;

export interface FileConnectorOptions {
  /** Bytes read per `read()` call. */
  chunkBytes?: number;
  /** A line longer than this is an error rather than a reason to grow the buffer without bound. */
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

  function startingPoint(from: Checkpoint | undefined): FileCheckpoint {
    if (from === undefined) return { offset: 0, line: 0 };
    const parsed = FileCheckpointSchema.safeParse(from);
    if (parsed.success) return parsed.data;
    throw new ConnectorError(
      source,
      `stored checkpoint is not a file checkpoint (${formatZodError(parsed.error)}); reset the source's checkpoint`,
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
  function parseLine(text: string, lineNumber: number): AuditEvent {
    const page = `${config.path}:${lineNumber}`;
    const accepted = acceptEventLine(text);
    if (accepted.ok) return accepted.event;
    throw new ConnectorError(source, `${page}: ${accepted.reason}`, {
      retryable: false,
      page,
      ...(accepted.field === undefined ? {} : { field: accepted.field }),
    });
  }

  async function* pull(from: Checkpoint | undefined, { signal }: PullOptions): AsyncGenerator<SourcePage> {
    const start = startingPoint(from);
    const handle = await openFile();
    try {
      const { size } = await handle.stat();
      if (start.offset > size) {
        throw new ConnectorError(
          source,
          `${config.path} has ${size} bytes but its checkpoint is at byte ${start.offset}: the file was truncated or replaced; reset the source's checkpoint to read it again`,
          { retryable: false, page: config.path },
        );
      }
      let consumed = start;
      let yielded = start;
      let events: AuditEvent[] = [];
      const hasUnyielded = () => events.length > 0 || consumed.offset !== yielded.offset;
      try {
        for await (const line of completeLines(
          handle,
          start.offset,
          chunkBytes,
          maxLineBytes,
          () => consumed.line + 1,
          source,
          config.path,
        )) {
          signal.throwIfAborted();
          const lineNumber = consumed.line + 1;
          const next = { offset: consumed.offset + line.bytes, line: lineNumber };
          if (line.text.trim() !== "") events.push(parseLine(line.text, lineNumber));
          consumed = next;
          if (events.length >= config.batchSize) {
            yield { events, checkpoint: consumed };
            yielded = consumed;
            events = [];
          }
        }
      } catch (err) {
        // Hand over the good events before a bad line so they are queued and checkpointed.
        if (err instanceof ConnectorError && hasUnyielded()) yield { events, checkpoint: consumed };
        throw err;
      }
      if (hasUnyielded()) yield { events, checkpoint: consumed };
    } finally {
      await handle.close();
    }
  }

  return {
    source,
    provider: "file",
    pull,
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

/**
 * Newline-terminated lines from `offset` on, read in chunks; the unterminated tail is left
 * alone. `bytes` includes the newline. Memory stays within one chunk plus one line.
 */
async function* completeLines(
  handle: FileHandle,
  offset: number,
  chunkBytes: number,
  maxLineBytes: number,
  currentLine: () => number,
  source: string,
  path: string,
): AsyncGenerator<{ text: string; bytes: number }> {
  const chunk = Buffer.allocUnsafe(chunkBytes);
  let position = offset;
  // The start of a line still waiting for its newline, as copied chunks (joined once, when it ends).
  let pending: Buffer[] = [];
  let pendingBytes = 0;
  for (;;) {
    const { bytesRead } = await handle.read(chunk, 0, chunkBytes, position);
    if (bytesRead === 0) return;
    position += bytesRead;
    let buffer = chunk.subarray(0, bytesRead);
    let newline = buffer.indexOf(NEWLINE);
    while (newline !== -1) {
      const head = buffer.subarray(0, newline);
      const lineBytes = pendingBytes === 0 ? head : Buffer.concat([...pending, head]);
      yield { text: lineBytes.toString("utf8").replace(/\r$/, ""), bytes: pendingBytes + newline + 1 };
      pending = [];
      pendingBytes = 0;
      buffer = buffer.subarray(newline + 1);
      newline = buffer.indexOf(NEWLINE);
    }
    if (pendingBytes + buffer.length > maxLineBytes) {
      const page = `${path}:${currentLine()}`;
      throw new ConnectorError(source, `${page}: line is longer than ${maxLineBytes} bytes`, {
        retryable: false,
        page,
      });
    }
    // Copied: `chunk` is reused by the next read.
    if (buffer.length > 0) {
      pending.push(Buffer.from(buffer));
      pendingBytes += buffer.length;
    }
  }
}
