import type { Alert, AlertEventSummary } from "@vigil/core";

/** What made an alert fire, per kind: the one place that reads the kind-specific alert fields. */
export type AlertEvidence =
  | { kind: "sequence"; steps: { name: string; eventIds: string[] }[] }
  | { kind: "newValue"; value: Record<string, unknown>; lastSeen: string | undefined }
  | { kind: "absence"; anchor: AlertEventSummary | undefined; deadline: string }
  | { kind: "threshold"; first: AlertEventSummary | undefined; last: AlertEventSummary | undefined }
  | { kind: "match"; event: AlertEventSummary | undefined }
  | { kind: "other" };

/** Reads an alert's evidence; the kind-specific fields (`chain`, `value`, `lastSeen`) are read nowhere else. */
export function alertEvidence(alert: Alert): AlertEvidence {
  if (alert.chain) return { kind: "sequence", steps: alert.chain };
  if (alert.value) return { kind: "newValue", value: alert.value, lastSeen: alert.lastSeen };
  switch (alert.kind) {
    case "absence":
      return { kind: "absence", anchor: alert.events[0], deadline: alert.windowEnd };
    case "threshold":
      return { kind: "threshold", first: alert.events[0], last: alert.events.at(-1) };
    case "match":
      return { kind: "match", event: alert.events[0] };
    default:
      return { kind: "other" };
  }
}
