import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from "prom-client";

/** Prefix of the Node.js process metrics (heap, event-loop lag, GC, CPU, handles) beside Vigil's own. */
export const PROCESS_METRICS_PREFIX = "vigil_";

/**
 * Every metric Vigil exports, declared in one place. Names follow `vigil_<noun>_<unit>`; the
 * Node.js process metrics prom-client collects (`vigil_process_cpu_seconds_total`,
 * `vigil_nodejs_eventloop_lag_seconds`, `vigil_nodejs_heap_size_used_bytes`,
 * `vigil_nodejs_gc_duration_seconds`, …) are registered on the same registry.
 */
export function createMetrics(registry = new Registry()) {
  collectDefaultMetrics({ register: registry, prefix: PROCESS_METRICS_PREFIX });
  return {
    registry,
    eventsProcessed: new Counter({
      name: "vigil_events_processed_total",
      help: "Events taken from vigil-events, by result (new, duplicate)",
      labelNames: ["result"] as const,
      registers: [registry],
    }),
    eventsLate: new Counter({
      name: "vigil_events_late_total",
      help: "Window updates refused because the event arrived later than the rule's lateness",
      labelNames: ["rule"] as const,
      registers: [registry],
    }),
    alertsRaised: new Counter({
      name: "vigil_alerts_raised_total",
      help: "Alerts raised by the engine",
      labelNames: ["rule", "severity"] as const,
      registers: [registry],
    }),
    ruleValuesForgotten: new Counter({
      name: "vigil_rule_values_forgotten_total",
      help: "Values a newValue rule forgot because a group held more than its maxValuesPerGroup",
      labelNames: ["rule"] as const,
      registers: [registry],
    }),
    ruleStateKeysSwept: new Counter({
      name: "vigil_rule_state_keys_swept_total",
      help: "Rule-state keys deleted because no engine loads their rule any more (removed, or edited so that its state key changed)",
      registers: [registry],
    }),
    rulesInfo: new Gauge({
      name: "vigil_rules_info",
      help: "The rule set this engine evaluates: 1 for the hash of its files (every pod of a deployment converges on one)",
      labelNames: ["hash"] as const,
      registers: [registry],
    }),
    rulesLoaded: new Gauge({
      name: "vigil_rules_loaded",
      help: "Enabled rules in the rule set this engine evaluates",
      registers: [registry],
    }),
    rulesReloads: new Counter({
      name: "vigil_rules_reloads_total",
      help: "Changed rule sets this engine loaded and swapped in while running",
      registers: [registry],
    }),
    rulesReloadFailures: new Counter({
      name: "vigil_rules_reload_failures_total",
      help: "Changed rule sets this engine refused (it keeps the previous set; the log names each problem)",
      registers: [registry],
    }),
    rulesRefused: new Gauge({
      name: "vigil_rules_refused",
      help: "1 while the rule files on disk are a set this engine refused (it keeps evaluating the previous set), else 0",
      registers: [registry],
    }),
    batchDuration: new Histogram({
      name: "vigil_engine_batch_duration_seconds",
      help: "Time to evaluate one vigil-events batch",
      buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
      registers: [registry],
    }),
    deliveries: new Counter({
      name: "vigil_deliveries_total",
      help: "Delivery attempts by channel and outcome (sent, retry, failed)",
      labelNames: ["channel", "outcome"] as const,
      registers: [registry],
    }),
    deliveriesSkipped: new Counter({
      name: "vigil_deliveries_skipped_total",
      help: "Deliveries not sent, by channel and reason (already_sent: the delivery ledger says the receiver accepted it)",
      labelNames: ["channel", "reason"] as const,
      registers: [registry],
    }),
    notifications: new Counter({
      name: "vigil_notifications_total",
      help: "Notifications (one alert, or a group's alerts) by channel and final outcome (sent, failed)",
      labelNames: ["channel", "outcome"] as const,
      registers: [registry],
    }),
    alertsSilenced: new Counter({
      name: "vigil_alerts_silenced_total",
      help: "Alerts not notified because a silence matched them, by rule",
      labelNames: ["rule"] as const,
      registers: [registry],
    }),
    alertsInhibited: new Counter({
      name: "vigil_alerts_inhibited_total",
      help: "Alerts not notified because an inhibition rule's source alert exists, by rule",
      labelNames: ["rule"] as const,
      registers: [registry],
    }),
    alertsUnrouted: new Counter({
      name: "vigil_alerts_unrouted_total",
      help: "Alerts no route, notify list or default route takes, by rule",
      labelNames: ["rule"] as const,
      registers: [registry],
    }),
    notificationGroupSize: new Histogram({
      name: "vigil_notification_group_size",
      help: "Alerts per group notification, by route",
      labelNames: ["route"] as const,
      buckets: [1, 2, 3, 5, 10, 20, 50, 100],
      registers: [registry],
    }),
    sourceEventsPulled: new Counter({
      name: "vigil_source_events_pulled_total",
      help: "Events pulled per source",
      labelNames: ["source"] as const,
      registers: [registry],
    }),
    sourceLastSuccess: new Gauge({
      name: "vigil_source_last_success_timestamp_seconds",
      help: "Unix time of the last successful pull per source",
      labelNames: ["source"] as const,
      registers: [registry],
    }),
    sourceLag: new Gauge({
      name: "vigil_source_lag_seconds",
      help: "Now minus the newest event time seen per source",
      labelNames: ["source"] as const,
      registers: [registry],
    }),
    sourceRecordsRemaining: new Gauge({
      name: "vigil_source_pull_records_remaining",
      help: "Records a source's running pull has left to read, estimated from the density seen (0 once it reached the end)",
      labelNames: ["source"] as const,
      registers: [registry],
    }),
    recordsQuarantined: new Counter({
      name: "vigil_records_quarantined_total",
      help: "Records a source refused and quarantined (vigil sources quarantine list), per source",
      labelNames: ["source"] as const,
      registers: [registry],
    }),
    quarantineHeld: new Gauge({
      name: "vigil_quarantine_records",
      help: "Quarantined records held per source, as of its last pull",
      labelNames: ["source"] as const,
      registers: [registry],
    }),
    quarantineDropped: new Counter({
      name: "vigil_quarantine_dropped_total",
      help: "Quarantined records dropped unasked, per source and reason: full (the source's cap of records or bytes was reached, the oldest made room) or expired (older than the quarantine's TTL)",
      labelNames: ["source", "reason"] as const,
      registers: [registry],
    }),
    sourceErrors: new Counter({
      name: "vigil_source_errors_total",
      help: "Failed pulls per source",
      labelNames: ["source"] as const,
      registers: [registry],
    }),
    queueJobs: new Gauge({
      name: "vigil_queue_jobs",
      help: "Jobs per queue and state, read at scrape time",
      labelNames: ["queue", "state"] as const,
      registers: [registry],
    }),
  };
}
export type Metrics = ReturnType<typeof createMetrics>;
