import { createReadStream, createWriteStream, type WriteStream } from "node:fs";
import { mkdtemp } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { once } from "node:events";
import { acceptEventLine, NameSchema } from "@vigil/core";

/** One file source of a split events file. */
export interface EventFileSource {
  name: string;
  type: "file";
  path: string;
  provider?: string;
}

/** Where lines that name no usable source go: a file source of this name, which refuses them into its quarantine. */
const UNNAMED = "events";

/**
 * A file of events from several sources (an export, `vigil replay`'s input) as the file sources a
 * deployment would have: one per source the lines name, each reading only that source's lines in
 * file order (and declaring its provider when its lines all name one). A file source speaks only
 * for itself, so the mixed file cannot be one source; split, the live pipeline reads exactly the
 * events `vigil replay` reads from the whole file. Lines that are not events, or name no valid
 * source name, go to a source `events`, whose quarantine keeps them with their reason.
 */
export async function splitEventFile(path: string): Promise<{ dir: string; sources: EventFileSource[] }> {
  const dir = await mkdtemp(join(tmpdir(), "vigil-events-"));
  const outputs = new Map<string, { out: WriteStream; providers: Set<string> }>();
  const outputOf = (name: string) => {
    let output = outputs.get(name);
    if (!output) {
      output = { out: createWriteStream(join(dir, `${name}.jsonl`)), providers: new Set() };
      outputs.set(name, output);
    }
    return output;
  };
  for await (const line of createInterface({ input: createReadStream(path), crlfDelay: Infinity })) {
    if (!line.trim()) continue;
    const accepted = acceptEventLine(line);
    const name = accepted.ok && NameSchema.safeParse(accepted.event.source).success ? accepted.event.source : UNNAMED;
    const output = outputOf(name);
    if (accepted.ok) output.providers.add(accepted.event.provider);
    if (!output.out.write(`${line}\n`)) await once(output.out, "drain");
  }
  await Promise.all([...outputs.values()].map(({ out }) => new Promise((resolve) => out.end(resolve))));
  const sources = [...outputs].map(([name, { providers }]): EventFileSource => {
    const [provider] = providers;
    return {
      name,
      type: "file",
      path: join(dir, `${name}.jsonl`),
      ...(providers.size === 1 && name !== UNNAMED ? { provider: provider! } : {}),
    };
  });
  return { dir, sources };
}
