import type { Logger } from "@vigil/core";

type Step = { name: string; run: () => Promise<unknown> | unknown };

/**
 * One shutdown sequence per process: steps run in the order they were added, each awaited,
 * the whole bounded in time so a stuck step cannot keep a pod from terminating.
 */
export class ShutdownManager {
  private readonly steps: Step[] = [];
  private closing: Promise<void> | undefined;

  constructor(private readonly logger: Logger, private readonly timeoutMs = 30_000) {}

  add(name: string, run: Step["run"]): void {
    this.steps.push({ name, run });
  }

  get isShuttingDown(): boolean {
    return this.closing !== undefined;
  }

  /** Runs every step once; later calls return the same promise. */
  shutdown(reason: string): Promise<void> {
    this.closing ??= this.runSteps(reason);
    return this.closing;
  }

  /** SIGTERM/SIGINT start the shutdown; a second signal exits at once. */
  handleSignals(onDone: (code: number) => void): void {
    const handler = (signal: NodeJS.Signals) => {
      if (this.isShuttingDown) {
        this.logger.warn({ signal }, "second signal: exiting now");
        onDone(1);
        return;
      }
      this.shutdown(signal).then(() => onDone(0), () => onDone(1));
    };
    process.on("SIGTERM", handler);
    process.on("SIGINT", handler);
  }

  private async runSteps(reason: string): Promise<void> {
    this.logger.info({ reason }, "shutting down");
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<void>((resolve) => {
      timer = setTimeout(() => {
        this.logger.error({ timeoutMs: this.timeoutMs }, "shutdown took too long; giving up on the remaining steps");
        resolve();
      }, this.timeoutMs);
      timer.unref();
    });
    const sequence = (async () => {
      for (const step of this.steps) {
        try {
          await step.run();
        } catch (err) {
          this.logger.error({ step: step.name, err: (err as Error).message }, "shutdown step failed");
        }
      }
    })();
    await Promise.race([sequence, deadline]);
    clearTimeout(timer);
    this.logger.info("stopped");
  }
}
