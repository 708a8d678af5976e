import { formatProblem, RuleError, silentLogger, type Logger, type Metrics } from "@vigil/core";
import { loadRuleSet, ruleFilesHash, type RuleLoadOptions, type RuleSet } from "./rule-loader.js";

export interface RuleSetWatcherOptions {
  paths: readonly string[];
  /** What the rules are checked and tuned with (vocabularies, the config's overrides). */
  loadOptions?: RuleLoadOptions;
  /** The set the process started with (loaded from the same paths). */
  initial: RuleSet;
  /** How often the files are hashed to see whether they changed. */
  everyMs: number;
  /** Called with a changed set once it is valid as a whole. */
  apply: (set: RuleSet) => void;
  logger?: Logger;
  metrics?: Metrics;
}

export type RuleSetCheck =
  | { outcome: "unchanged"; hash: string }
  | { outcome: "reloaded"; hash: string; rules: number }
  | { outcome: "refused"; hash: string; problems: string[] };

/**
 * Watches rule files by polling a hash of their contents. Polling rather than inotify because a
 * Kubernetes ConfigMap volume changes by swapping a symlink to a new folder, which file watchers
 * miss or see as deletions; a hash also ignores touches that change nothing.
 * A changed set is loaded and validated whole: valid, it is applied; invalid, the previous set
 * stays and every problem is logged once as `file:line:col: message`.
 */
export class RuleSetWatcher {
  private current: string;
  private refused: string | undefined;
  private timer: NodeJS.Timeout | undefined;
  private readonly logger: Logger;

  constructor(private readonly options: RuleSetWatcherOptions) {
    this.current = options.initial.hash;
    this.logger = (options.logger ?? silentLogger).child({ component: "rules" });
    this.report(options.initial);
    this.warn(options.initial);
  }

  private warn(set: RuleSet): void {
    for (const warning of set.warnings) this.logger.warn({ hash: set.hash }, formatProblem(warning));
  }

  /** The hash of the rule set in force. */
  get hash(): string {
    return this.current;
  }

  start(): void {
    this.timer ??= setInterval(() => this.check(), this.options.everyMs);
    this.timer.unref();
  }

  stop(): void {
    clearInterval(this.timer);
    this.timer = undefined;
  }

  /** Looks at the files once; loads, validates and applies them if they changed. */
  check(): RuleSetCheck {
    const hash = ruleFilesHash(this.options.paths, this.options.loadOptions?.tuning);
    if (hash === this.current) {
      this.refused = undefined;
      this.options.metrics?.rulesRefused.set(0);
      return { outcome: "unchanged", hash };
    }
    let set: RuleSet;
    try {
      set = loadRuleSet(this.options.paths, this.options.loadOptions);
    } catch (err) {
      if (!(err instanceof RuleError)) throw err;
      const problems = err.problems.map(formatProblem);
      // Reported once per broken version of the files, not at every check.
      if (this.refused !== hash) {
        this.refused = hash;
        this.options.metrics?.rulesReloadFailures.inc();
        for (const problem of problems) this.logger.error({ hash }, problem);
        this.logger.error(
          { hash, kept: this.current, problems: problems.length },
          "changed rule files refused; the previous rule set stays in force",
        );
      }
      // Stays 1 for as long as the broken files stay (the alert holds while they are refused).
      this.options.metrics?.rulesRefused.set(1);
      return { outcome: "refused", hash, problems };
    }
    this.options.apply(set);
    const previous = this.current;
    this.current = set.hash;
    this.refused = undefined;
    this.options.metrics?.rulesRefused.set(0);
    this.options.metrics?.rulesReloads.inc();
    this.report(set);
    this.warn(set);
    this.logger.info({ hash: set.hash, previous, rules: set.rules.length }, "rule set reloaded");
    return { outcome: "reloaded", hash: set.hash, rules: set.rules.length };
  }

  private report(set: RuleSet): void {
    const metrics = this.options.metrics;
    if (!metrics) return;
    metrics.rulesInfo.reset();
    metrics.rulesInfo.set({ hash: set.hash }, 1);
    metrics.rulesLoaded.set(set.rules.filter((l) => l.rule.enabled).length);
  }
}
