import type { Alert, AlertEventSummary } from "@vigil/core";
import { z } from "zod";

/** What made an alert fire, per kind: the one place that reads `alert.evidence` and `alert.kind`. */
export type AlertEvidence =
  | { kind: "sequence"; steps: { name: string; eventIds: string[] }[] }
  | { kind: "newValue"; value: Record<string, unknown>; lastSeen: string | undefined }
  | { kind: "absence"; anchor: AlertEventSummary | undefined; deadline: string }
  | { kind: "threshold"; first: AlertEventSummary | undefined; last: AlertEventSummary | undefined }
  | { kind: "match"; event: AlertEventSummary | undefined }
  /** A kind this renderer has no layout for (travel, a new kind): its evidence fields, shown generically. */
  | { kind: "other"; name: string | undefined; fields: Record<string, unknown> };

// The evidence shapes of the engine's sequence and newValue kinds, read leniently: an alert from
// an older or newer engine whose evidence does not fit is shown generically, never refused.
const SequenceEvidence = z.object({ chain: z.array(z.object({ name: z.string(), eventIds: z.array(z.string()) })) });
const NewValueEvidence = z.object({ value: z.record(z.string(), z.unknown()), lastSeen: z.string().optional() });

/** Reads an alert's evidence: its kind's `evidence` when it has one, else what the rule kind implies. */
export function alertEvidence(alert: Alert): AlertEvidence {
  const { kind: evidenceKind, ...fields } = alert.evidence ?? { kind: undefined };
  if (evidenceKind === "sequence") {
    const sequence = SequenceEvidence.safeParse(fields);
    if (sequence.success) return { kind: "sequence", steps: sequence.data.chain };
  }
  if (evidenceKind === "newValue") {
    const newValue = NewValueEvidence.safeParse(fields);
    if (newValue.success) return { kind: "newValue", value: newValue.data.value, lastSeen: newValue.data.lastSeen };
  }
  if (evidenceKind !== undefined) return { kind: "other", name: evidenceKind, fields };
  switch (alert.kind) {
    case "absence":
      return { kind: "absence", anchor: alert.events[0], deadline: alert.windowEnd };
    case "threshold":
      return { kind: "threshold", first: alert.events[0], last: alert.events.at(-1) };
    case "match":
      return { kind: "match", event: alert.events[0] };
    default:
      return { kind: "other", name: undefined, fields: {} };
  }
}
