/** Where in a source file something was found. */
export interface SourcePosition {
  file: string;
  line?: number;
  column?: number;
}

export function formatPosition(pos: SourcePosition): string {
  if (pos.line === undefined) return pos.file;
  return `${pos.file}:${pos.line}:${pos.column ?? 1}`;
}

/** Base of Vigil's error taxonomy: every error carries a stable code and context. */
export class VigilError extends Error {
  readonly code: string;
  readonly context: Record<string, unknown>;
  constructor(code: string, message: string, context: Record<string, unknown> = {}, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
    this.code = code;
    this.context = context;
  }
}

/** One problem in a config or rule file, located by file:line:col. */
export interface LocatedProblem extends SourcePosition {
  message: string;
  /** Dotted path of the offending key, e.g. `channels.0.smtp.port`. */
  key?: string;
}

export function formatProblem(p: LocatedProblem): string {
  return `${formatPosition(p)}: ${p.message}`;
}

/** A bad config file; `problems` lists every error found, each with file:line:col and key. */
export class ConfigError extends VigilError {
  readonly problems: LocatedProblem[];
  constructor(problems: LocatedProblem[], options?: { cause?: unknown }) {
    super("CONFIG_INVALID", problems.map(formatProblem).join("\n"), { problems }, options);
    this.problems = problems;
  }
}

/** One or more broken rules; each problem names the file, line, column and rule id. */
export class RuleError extends VigilError {
  readonly problems: (LocatedProblem & { ruleId?: string })[];
  constructor(problems: (LocatedProblem & { ruleId?: string })[]) {
    super("RULE_INVALID", problems.map(formatProblem).join("\n"), { problems });
    this.problems = problems;
  }
}

/** A failure talking to, or understanding, a provider. */
export class ConnectorError extends VigilError {
  readonly source: string;
  readonly retryable: boolean;
  constructor(
    source: string,
    message: string,
    details: { retryable?: boolean; page?: string; field?: string; status?: number } = {},
    options?: { cause?: unknown },
  ) {
    super("CONNECTOR_FAILED", `source ${source}: ${message}`, { source, ...details }, options);
    this.source = source;
    this.retryable = details.retryable ?? true;
  }
}

/** A failed alert delivery; `permanent` ones are not retried. */
export class DeliveryError extends VigilError {
  readonly channel: string;
  readonly permanent: boolean;
  constructor(channel: string, message: string, permanent: boolean, options?: { cause?: unknown }) {
    super("DELIVERY_FAILED", `channel ${channel}: ${message}`, { channel, permanent }, options);
    this.channel = channel;
    this.permanent = permanent;
  }
}

export function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
