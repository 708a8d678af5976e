import { execFile } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { describe, expect, it } from "vitest";
import { stringify } from "yaml";
import { named, renderChart, type K8sObject } from "./helm.js";

const run = promisify(execFile);
const sel = 'job="vigil-metrics", namespace="vigil"';

/** The chart's PrometheusRule groups, exercised by `promtool test rules` on series shaped like Vigil's /metrics. */
describe("the chart's alerts, evaluated by promtool", () => {
  it("fire on the failures they name and stay quiet otherwise", async () => {
    const objects = await renderChart({ metrics: { prometheusRule: { enabled: true, sourceStaleSeconds: 900 } } });
    const rule = named(objects, "PrometheusRule", "vigil") as K8sObject & { spec: { groups: unknown[] } };
    const dir = mkdtempSync(join(tmpdir(), "vigil-alerts-"));
    writeFileSync(join(dir, "rules.yaml"), stringify({ groups: rule.spec.groups }));
    const tests = {
      rule_files: ["rules.yaml"],
      evaluation_interval: "1m",
      tests: [
        {
          interval: "1m",
          input_series: [
            // Source "zendesk" last succeeded at t=0; "pylon" succeeds every minute.
            {
              series: `vigil_source_last_success_timestamp_seconds{${sel}, pod="c-1", source="zendesk"}`,
              values: "0x40",
            },
            {
              series: `vigil_source_last_success_timestamp_seconds{${sel}, pod="c-1", source="pylon"}`,
              values: "0+60x40",
            },
            // Deliveries to "hook" fail from minute 10 on; "mail" only succeeds.
            {
              series: `vigil_deliveries_total{${sel}, pod="n-1", channel="hook", outcome="failed"}`,
              values: "0x10 1+1x30",
            },
            { series: `vigil_deliveries_total{${sel}, pod="n-1", channel="mail", outcome="sent"}`, values: "0+1x40" },
            // Source "files" has records quarantined from minute 11 on; "pylon" none.
            { series: `vigil_records_quarantined_total{${sel}, pod="c-1", source="files"}`, values: "0x10 2+1x30" },
            { series: `vigil_records_quarantined_total{${sel}, pod="c-1", source="pylon"}`, values: "0x40" },
            // Three event batches fail for good at minute 11; no delivery job does.
            {
              series: `vigil_queue_jobs{${sel}, pod="e-1", queue="vigil-events", state="failed"}`,
              values: "0x10 3x30",
            },
            { series: `vigil_queue_jobs{${sel}, pod="e-1", queue="vigil-deliveries", state="failed"}`, values: "0x40" },
            // The engine pod stops answering at minute 20; connectors and notifier stay up.
            { series: `up{${sel}, pod="e-1", role="engine"}`, values: "1x20 0x20" },
            { series: `up{${sel}, pod="c-1", role="connectors"}`, values: "1x40" },
            { series: `up{${sel}, pod="n-1", role="notifier"}`, values: "1x40" },
          ],
          alert_rule_test: [
            { eval_time: "10m", alertname: "VigilSourceLagging", exp_alerts: [] },
            {
              eval_time: "25m",
              alertname: "VigilSourceLagging",
              exp_alerts: [
                {
                  exp_labels: { severity: "warning", source: "zendesk" },
                  exp_annotations: {
                    summary: "Source zendesk has not been pulled successfully for 25m 0s",
                    description:
                      "No successful pull of zendesk within 900s: its events are not reaching the rules. Check `vigil sources list` and the connectors' logs.",
                  },
                },
              ],
            },
            { eval_time: "9m", alertname: "VigilDeliveriesFailing", exp_alerts: [] },
            {
              eval_time: "12m",
              alertname: "VigilDeliveriesFailing",
              exp_alerts: [
                {
                  exp_labels: { severity: "critical", channel: "hook" },
                  exp_annotations: {
                    summary: "Alerts to channel hook are not delivered",
                    description:
                      "2 deliveries to hook spent their attempts in 15 minutes. `vigil deliveries failed` lists them; `vigil deliveries retry --all` sends them again once the channel works.",
                  },
                },
              ],
            },
            { eval_time: "10m", alertname: "VigilRecordsQuarantined", exp_alerts: [] },
            {
              eval_time: "12m",
              alertname: "VigilRecordsQuarantined",
              exp_alerts: [
                {
                  exp_labels: { severity: "warning", source: "files" },
                  exp_annotations: {
                    summary: "Source files sent records Vigil refused",
                    description:
                      "3 records of files were refused (unparsable, missing or invalid fields) and quarantined in the last hour; the rules did not see them. `vigil sources quarantine list files` shows where and why; `vigil sources quarantine retry` queues them once they are accepted, `vigil sources quarantine drop` forgets them.",
                  },
                },
              ],
            },
            { eval_time: "14m", alertname: "VigilJobsFailed", exp_alerts: [] },
            {
              eval_time: "17m",
              alertname: "VigilJobsFailed",
              exp_alerts: [
                {
                  exp_labels: { severity: "critical", queue: "vigil-events" },
                  exp_annotations: {
                    summary: "3 failed jobs wait in vigil-events",
                    description:
                      "Jobs of vigil-events failed for good (a poison batch, a job that stalled more than 50 times, a delivery out of attempts): their work is not done until re-driven. `vigil jobs failed` lists them with the reason; `vigil jobs retry --queue events --all` re-drives them.",
                  },
                },
              ],
            },
            { eval_time: "22m", alertname: "VigilWorkerDown", exp_alerts: [] },
            {
              eval_time: "27m",
              alertname: "VigilWorkerDown",
              exp_alerts: [
                {
                  exp_labels: {
                    severity: "critical",
                    job: "vigil-metrics",
                    namespace: "vigil",
                    pod: "e-1",
                    role: "engine",
                  },
                  exp_annotations: {
                    summary: "Vigil engine pod e-1 does not answer /metrics",
                    description:
                      "The pod is stuck or crashing; its share of the work waits in Redis until it or another replica takes it.",
                  },
                },
                {
                  exp_labels: { severity: "critical", role: "engine" },
                  exp_annotations: {
                    summary: "No Vigil engine is running",
                    description: "Every engine pod is gone or failing: no rule is evaluated.",
                  },
                },
              ],
            },
          ],
        },
      ],
    };
    writeFileSync(join(dir, "tests.yaml"), stringify(tests));
    const result = await run("promtool", ["test", "rules", join(dir, "tests.yaml")]).then(
      (r) => ({ ok: true, out: r.stdout + r.stderr }),
      (err: { stdout?: string; stderr?: string }) => ({ ok: false, out: `${err.stdout ?? ""}${err.stderr ?? ""}` }),
    );
    expect(result.out).toContain("SUCCESS");
    expect(result.ok).toBe(true);
  }, 60_000);
});
