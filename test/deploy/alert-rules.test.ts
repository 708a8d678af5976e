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
