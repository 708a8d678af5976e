import type { Logger } from "@vigil/core";

/**
 * The longest a shutdown may take before the remaining steps are abandoned. A pod's
 * terminationGracePeriodSeconds must exceed it (the Helm chart's schema requires at least 35s).
 */
const SHUTDOWN_TIMEOUT_MS = 30_000;

type Step = { name: string; run: () => Promise<unknown> | unknown };

/**
 * One shutdown sequence per process: steps run in the order they were added, each awaited,
 * the whole bounded in time so a stuck step cannot keep a pod from terminating.
 */
export class ShutdownManager {
  private readonly steps: Step[] = [];
  private closing: Promise<void> | undefined;

  constructor(
    private readonly logger: Logger,
    private readonly timeoutMs = SHUTDOWN_TIMEOUT_MS,
  ) {}

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

  /**
   * SIGTERM/SIGINT start the shutdown and then exit 0; a second signal exits at once.
   * An uncaught exception or unhandled rejection runs the same bounded shutdown (in-flight jobs
   * finish, connections close) and then exits 1, so the orchestrator restarts the process and no
   * job is left half-done. Install this before starting anything, so a signal during start-up
   * is handled too.
   */
  handleProcessEvents(exit: (code: number) => void): void {
    let failed = false;
    const stop = (reason: string, code: number) => {
      failed ||= code !== 0;
      this.shutdown(reason).then(
        () => exit(failed ? 1 : 0),
        () => exit(1),
      );
    };
    const onSignal = (signal: NodeJS.Signals) => {
      if (this.isShuttingDown) {
        this.logger.warn({ signal }, "second signal: exiting now");
        exit(1);
        return;
      }
      stop(signal, 0);
    };
    const onCrash = (kind: "uncaughtException" | "unhandledRejection") => (reason: unknown) => {
      this.logger.fatal({ err: reason }, `${kind}: draining, then exiting with code 1`);
      stop(kind, 1);
    };
    process.on("SIGTERM", onSignal);
    process.on("SIGINT", onSignal);
    process.on("uncaughtException", onCrash("uncaughtException"));
    process.on("unhandledRejection", onCrash("unhandledRejection"));
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
          this.logger.error({ step: step.name, err }, "shutdown step failed");
        }
      }
    })();
    await Promise.race([sequence, deadline]);
    clearTimeout(timer);
    this.logger.info("stopped");
  }
}
