import type { Command } from "commander";
import { CliError, cliContext, type GlobalOptions } from "../context.js";
import { ROLES, startVigil, type Role } from "../runtime/roles.js";
import { ShutdownManager } from "../runtime/shutdown.js";

export function registerRunCommand(program: Command, globals: () => GlobalOptions): void {
  program
    .command("run")
    .description("run Vigil's workers: connectors, engine and notifier (all three when none is named)")
    .argument("[roles...]", `any of ${ROLES.join(", ")}`)
    .option("--port <port>", "port of /healthz, /readyz and /metrics (default: server.port from the config)")
    .action(async (roleArgs: string[], options: { port?: string }) => {
      const unknown = roleArgs.filter((r) => !(ROLES as readonly string[]).includes(r));
      if (unknown.length)
        throw new CliError(`unknown role(s) ${unknown.join(", ")}: choose from ${ROLES.join(", ")}`, 2);
      const roles = (roleArgs.length ? roleArgs : ROLES) as Role[];
      const { env, config, logger, metrics } = cliContext(globals());
      if (options.port !== undefined) {
        const port = Number(options.port);
        if (!Number.isInteger(port) || port < 0 || port > 65535)
          throw new CliError(`--port must be a port number, got "${options.port}"`, 2);
        config.server.port = port;
      }
      // Handlers first: a SIGTERM or a crash during start-up still runs the steps added so far.
      const shutdown = new ShutdownManager(logger);
      shutdown.handleProcessEvents((code) => process.exit(code));
      // Waits for Redis at most VIGIL_REDIS_WAIT; a SIGTERM meanwhile runs the shutdown sequence like any other.
      await startVigil({
        config,
        roles,
        logger,
        metrics,
        serveHttp: true,
        shutdown,
        redisWaitMs: env.VIGIL_REDIS_WAIT,
      });
      await new Promise(() => undefined); // runs until a signal ends the process
    });
}
