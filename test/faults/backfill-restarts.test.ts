// A dense backfill through the provider simulator while the connectors process is SIGKILLed again
// and again (a crash loop, a node drain, a rolling deploy): each process moves the checkpoint
// before it dies, every record reaches vigil-events once, and the requests spent stay within
// 1.2× the fewest possible plus one window per kill. Zendesk lists oldest first (pages queued one
// by one); Ashby answers newest first (windows held, bounded by `windowRecords`).
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it, onTestFinished } from "vitest";
import { EventBatchJobSchema, openQueues, seededRandom } from "@vigil/core";
import { startProviderSimulator, type ProviderSimulator } from "@vigil/simulator";
import { runCli, startCli } from "../cli.js";
import { REDIS_URL, useRedis, waitUntil } from "../helpers.js";

const { redis, keyspace } = useRedis();
const RECORDS = 3_000;
const PAGE_SIZE = 20;
const KILLS = 5;
/** Requests a second, at the simulator and in the source's own limit: the backfill takes some 30 s of requests. */
const RATE = 5;
/** A held window's bound for Ashby here: 20 pages. */
const WINDOW_RECORDS = 400;

const CASES = [
  {
    provider: "zendesk" as const,
    auth: (sim: ProviderSimulator) => {
      const { email, apiToken } = sim.credentials("zendesk");
      return { auth: `{ email: ${JSON.stringify(email)}, token: "\${PROVIDER_TOKEN}" }`, token: apiToken };
    },
    settings: "",
    /**
     * What one kill may cost, in requests: the page in flight when it died, and the page re-read
     * behind the checkpoint (its `lookback`, 10 minutes here, holds a few records at this density).
     */
    windowRequests: 2,
  },
  {
    provider: "ashby" as const,
    auth: (sim: ProviderSimulator) => ({
      auth: `{ apiKey: "\${PROVIDER_TOKEN}" }`,
      token: sim.credentials("ashby").apiKey,
    }),
    settings: `windowRecords: ${WINDOW_RECORDS}`,
    /** One held window: its pages and its last, partly filled one. */
    windowRequests: WINDOW_RECORDS / PAGE_SIZE + 1,
  },
];

const children: { kill(signal: NodeJS.Signals): boolean }[] = [];
afterAll(async () => {
  for (const child of children) child.kill("SIGKILL");
});

describe.each(CASES)(
  "a $provider backfill whose connector is killed again and again",
  ({ provider, auth, settings, windowRequests }) => {
    it("advances its checkpoint between kills, delivers every record once, and spends few requests more than the fewest", async () => {
      const random = seededRandom(21);
      const now = Date.now();
      const sim = await startProviderSimulator({
        providers: [provider],
        seed: 21,
        records: { [provider]: RECORDS },
        start: new Date(now - 6 * 86_400_000),
        end: new Date(now - 60_000),
        rateLimit: { [provider]: { requests: RATE, perMs: 1_000 } },
      });
      onTestFinished(() => sim.close());
      const ks = keyspace();
      const dir = mkdtempSync(join(tmpdir(), "vigil-backfill-restarts-"));
      const configPath = join(dir, "vigil.config.yaml");
      const credentials = auth(sim);
      writeFileSync(
        configPath,
        `redis: { url: "${REDIS_URL}", prefix: "${ks.prefix}" }
connectors: { lockTtl: 2s }
sources:
  - name: dense
    type: ${provider}
    baseUrl: ${JSON.stringify(sim.baseUrl(provider))}
    allowInsecureHttp: true
    auth: ${credentials.auth}
    ${settings}
    startFrom: 7d
    pageSize: ${PAGE_SIZE}
    pollInterval: 1s
    rateLimit: { requests: ${RATE}, per: 1s }
    timeout: 5s
`,
      );
      const env = { PROVIDER_TOKEN: credentials.token };
      const checkpointKey = ks.key("source", "dense", "checkpoint");
      const checkpointMs = async () => {
        const text = await redis.get(checkpointKey);
        return text === null ? undefined : Date.parse((JSON.parse(text) as { until: string }).until);
      };

      const atKills: number[] = [];
      for (let kill = 0; kill < KILLS; kill++) {
        const run = startCli(["--config", configPath, "run", "connectors", "--port", "0"], { env });
        children.push(run.child);
        // Killed once this process moved the checkpoint past where the last one died, a second or two into its pull.
        const before = atKills.at(-1) ?? Number.NEGATIVE_INFINITY;
        await waitUntil(async () => ((await checkpointMs()) ?? before) > before, 90_000, "the checkpoint to move");
        await new Promise((resolve) => setTimeout(resolve, 1_000 + random() * 1_500));
        run.child.kill("SIGKILL");
        await run.exited;
        atKills.push((await checkpointMs())!);
      }

      const last = startCli(["--config", configPath, "run", "connectors", "--port", "0"], { env });
      children.push(last.child);
      await waitUntil(() => last.output().includes('"msg":"source pulled"'), 120_000, "the backfill to finish");

      // vigil status shows the pull's progress: done, every record read by the last pull's count of what was left.
      const status = await runCli(["--config", configPath, "status", "--json"], { env });
      expect(status.code).toBe(0);
      const source = (JSON.parse(status.stdout) as { sources: { name: string; progress?: Record<string, unknown> }[] })
        .sources[0]!;
      expect(source.progress).toMatchObject({ state: "done", estimatedRemaining: 0 });
      const table = await runCli(["--config", configPath, "status"], { env });
      expect(table.stdout).toMatch(/left \(est\.\)/);
      expect(table.stdout).toMatch(/dense +done since \S+ +\S+ \.\. \S+ +\d+ +\d+ +0 /);
      last.child.kill("SIGTERM");
      await last.exited;

      // The checkpoint advanced between every two kills.
      for (let i = 1; i < atKills.length; i++) expect(atKills[i]).toBeGreaterThan(atKills[i - 1]!);

      // Every record once in vigil-events.
      const queues = openQueues(redis, ks.queuePrefix);
      const jobs = (await queues.events.getJobs(["wait"], 0, -1, true)).filter((job) => job.name !== "watermark");
      await queues.close();
      const queued = jobs.flatMap((job) => EventBatchJobSchema.parse(job.data).events.map((event) => event.nativeId));
      const truth = sim.groundTruth(provider).map((record) => String(record.id));
      expect(queued).toHaveLength(truth.length);
      expect(new Set(queued)).toEqual(new Set(truth));

      // Requests: every request to the provider against the fewest possible (3,000 records in pages of 20).
      const requests = sim.requestLog.filter((r) => r.provider === provider);
      const fewest = Math.ceil(RECORDS / PAGE_SIZE);
      const allowed = 1.2 * fewest + KILLS * windowRequests;
      console.log(
        `${provider} backfill of ${RECORDS} records, ${KILLS} SIGKILLs: ${requests.length} requests (fewest ${fewest}, allowed ${allowed}), ${requests.filter((r) => r.status === 429).length} answered 429; checkpoints at kills ${atKills.map((ms) => new Date(ms).toISOString()).join(", ")}`,
      );
      expect(requests.length).toBeLessThanOrEqual(allowed);
    }, 420_000);
  },
);
