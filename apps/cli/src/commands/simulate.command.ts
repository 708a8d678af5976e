import type { Command } from "commander";
import { PROVIDERS } from "@vigil/connectors";
import type { FaultKind, ProviderName } from "@vigil/simulator";
import { CliError, type GlobalOptions } from "../context.js";
import { print } from "../format.js";

function parseInteger(name: string, value: string, min: number, max: number): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < min || n > max)
    throw new CliError(`--${name} must be a whole number from ${min} to ${max}, got "${value}"`, 2);
  return n;
}

export function registerSimulateCommand(program: Command, _globals: () => GlobalOptions): void {
  program
    .command("simulate")
    .description("serve local fakes of the providers' audit-log APIs, for trying connectors by hand")
    .option("--providers <names...>", `any of ${PROVIDERS.join(", ")}`, [...PROVIDERS])
    .option("--port <port>", "port of the one server (providers are routed by path)", "4010")
    .option("--host <host>", "interface to listen on", "127.0.0.1")
    .option("--records <n>", "generated records per provider", "300")
    .option("--seed <n>", "seed of the generated records and faults", "1")
    .option("--fault-rate <0..1>", "share of requests answered with a fault", "0")
    .option("--faults <kinds...>", "fault kinds: 500, 429, slow, malformed (default: all)")
    .option("--append-every <seconds>", "append one new record per provider this often (0: never)", "0")
    .action(
      async (options: {
        providers: string[];
        port: string;
        host: string;
        records: string;
        seed: string;
        faultRate: string;
        faults?: string[];
        appendEvery: string;
      }) => {
        // The simulator is demo-only code: it loads here, never for `run`.
        const { FAULT_KINDS, startProviderSimulator } = await import("@vigil/simulator");
        const unknown = options.providers.filter((p) => !(PROVIDERS as readonly string[]).includes(p));
        if (unknown.length)
          throw new CliError(`unknown provider(s) ${unknown.join(", ")}: choose from ${PROVIDERS.join(", ")}`, 2);
        const badKinds = (options.faults ?? []).filter((k) => !(FAULT_KINDS as readonly string[]).includes(k));
        if (badKinds.length)
          throw new CliError(`unknown fault kind(s) ${badKinds.join(", ")}: choose from ${FAULT_KINDS.join(", ")}`, 2);
        const rate = Number(options.faultRate);
        if (!(rate >= 0 && rate <= 1))
          throw new CliError(`--fault-rate must be between 0 and 1, got "${options.faultRate}"`, 2);
        const providers = options.providers as ProviderName[];
        const count = parseInteger("records", options.records, 0, 200_000);
        const port = parseInteger("port", options.port, 0, 65_535);
        const seed = parseInteger("seed", options.seed, 0, 2 ** 31);
        // Checked before the server starts: a bad value afterwards would leave it listening.
        const appendEvery = parseInteger("append-every", options.appendEvery, 0, 86_400);
        const sim = await startProviderSimulator({
          providers,
          host: options.host,
          port,
          seed,
          records: Object.fromEntries(providers.map((p) => [p, count])),
          ...(rate > 0
            ? { faults: { rate, ...(options.faults?.length ? { kinds: options.faults as FaultKind[] } : {}) } }
            : {}),
        }).catch((err: NodeJS.ErrnoException) => {
          if (err.code === "EADDRINUSE")
            throw new CliError(
              `${options.host}:${port} is already in use: choose another --port (0 picks a free one)`,
              2,
            );
          if (err.code === "EACCES" || err.code === "EADDRNOTAVAIL")
            throw new CliError(`cannot listen on ${options.host}:${port} (${err.code}): check --host and --port`, 2);
          throw err;
        });
        print(`provider simulator on ${sim.origin}`);
        for (const provider of providers) {
          print(
            `  ${provider.padEnd(10)} ${sim.baseUrl(provider)}  credentials: ${JSON.stringify(sim.credentials(provider))}`,
          );
        }
        const timer =
          appendEvery > 0
            ? setInterval(() => {
                for (const p of providers) sim.append(p, 1);
              }, appendEvery * 1000)
            : undefined;
        print("Ctrl-C stops it.");
        await new Promise<void>((resolve) => {
          const stop = () => resolve();
          process.once("SIGINT", stop);
          process.once("SIGTERM", stop);
        });
        if (timer) clearInterval(timer);
        await sim.close();
      },
    );
}
