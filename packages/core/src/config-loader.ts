import { readFileSync } from "node:fs";
import type { z } from "zod";
import { ConfigError, errorMessage, type LocatedProblem } from "./errors.js";
import { mapStringScalars, parseSourceDocuments, positionOf } from "./yaml-source.js";
import { locateZodProblems } from "./yaml-source.js";

export const DEFAULT_CONFIG_FILE = "vigil.config.yaml";

const REFERENCE = /\$\{([^}]*)\}/g;
const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

/**
 * Resolves `${VAR}`, `${VAR:-default}` and `${file:/path}` references inside one string.
 * Unresolvable references are reported through `onProblem`; their text never includes a value.
 */
export function resolveReferences(
  text: string,
  env: Record<string, string | undefined>,
  onProblem: (message: string) => void,
): string {
  return text.replace(REFERENCE, (_whole, body: string) => {
    if (body.startsWith("file:")) {
      const path = body.slice("file:".length);
      try {
        return readFileSync(path, "utf8").trim();
      } catch (err) {
        onProblem(`cannot read secret file ${path}: ${(err as NodeJS.ErrnoException).code ?? errorMessage(err)}`);
        return "";
      }
    }
    const sep = body.indexOf(":-");
    const name = sep === -1 ? body : body.slice(0, sep);
    if (!ENV_NAME.test(name)) {
      onProblem(`bad reference "\${${body}}": use \${NAME}, \${NAME:-default} or \${file:/path}`);
      return "";
    }
    const value = env[name];
    if (value !== undefined && value !== "") return value;
    if (sep !== -1) return body.slice(sep + 2);
    onProblem(`environment variable ${name} is not set (write \${${name}:-default} to give a default)`);
    return "";
  });
}

export interface LoadConfigOptions<T extends object> {
  /** The config schema, built by `createConfigSchema` at the composition root. */
  schema: z.ZodType<T, unknown>;
  /** Explicit path (`--config`); else `VIGIL_CONFIG`, else ./vigil.config.yaml if present, else defaults. */
  path?: string;
  env?: Record<string, string | undefined>;
}

/** Where the config comes from, following `--config`, then `VIGIL_CONFIG`, then the default file. */
export function configPath(options: { path?: string; env?: Record<string, string | undefined> } = {}): {
  path: string;
  explicit: boolean;
} {
  const env = options.env ?? process.env;
  if (options.path) return { path: options.path, explicit: true };
  if (env.VIGIL_CONFIG) return { path: env.VIGIL_CONFIG, explicit: true };
  return { path: DEFAULT_CONFIG_FILE, explicit: false };
}

/** Loads, resolves and validates the config file; throws ConfigError listing every problem. */
export function loadConfig<T extends object>(options: LoadConfigOptions<T>): T & { file?: string } {
  const env = options.env ?? process.env;
  const { path, explicit } = configPath(options);
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === "ENOENT" && !explicit) return options.schema.parse({});
    throw new ConfigError([{ file: path, message: `cannot read config: ${code ?? errorMessage(err)}` }], {
      cause: err,
    });
  }
  return { ...parseConfigText(options.schema, text, path, env), file: path };
}

/** Validates config text (YAML or JSON) as if read from `file`. */
export function parseConfigText<T>(
  schema: z.ZodType<T, unknown>,
  text: string,
  file: string,
  env: Record<string, string | undefined> = process.env,
): T {
  const { documents, problems } = parseSourceDocuments(text, file);
  if (problems.length) throw new ConfigError(problems);
  if (documents.length > 1) {
    const pos = positionOf(documents[1]!, []);
    throw new ConfigError([{ file, ...pos, message: "a config file holds one YAML document" }]);
  }
  const source = documents[0];
  if (!source) return schema.parse({});
  const refProblems: LocatedProblem[] = [];
  mapStringScalars(source, (value, pos) =>
    resolveReferences(value, env, (message) => refProblems.push({ file, ...pos, message })),
  );
  if (refProblems.length) throw new ConfigError(refProblems);
  const result = schema.safeParse(source.doc.toJS());
  if (!result.success) throw new ConfigError(locateZodProblems(source, result.error));
  return result.data;
}
