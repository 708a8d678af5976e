import { DEFAULT_LATENESS_MS } from "@vigil/core";
import { pathReader } from "../../field-path.js";
import { groupByPaths, hashKey, iso, namedPaths, summarize } from "../kind-support.js";
import type { RuleKind } from "../rule-kind.js";
import { newValueReference } from "./new-value.reference.js";
import { NewValueEvidenceSchema, NewValueSchema } from "./new-value.schema.js";

/** Deterministic alert id for a newValue rule's group, span and value. */
function newValueAlertId(ruleId: string, groupValues: unknown[], spanStartMs: number, value: unknown[]): string {
  return hashKey("new-value", ruleId, JSON.stringify(groupValues), String(spanStartMs), JSON.stringify(value));
}

/**
 * First-seen values per group: alert when a value (tuple of fields) was not seen for forgetAfter.
 * Each verdict waits until the watermark of the rule's sources reaches the event's time minus the
 * lateness (new-value.lua says why it is final then): at the end of its batch when it already
 * has, else on the watermark call that gets there.
 */
export const newValueKind: RuleKind<typeof NewValueSchema> = {
  name: "newValue",
  schema: NewValueSchema,
  evidence: NewValueEvidenceSchema,
  lua: new URL("./new-value.lua", import.meta.url),
  reference: newValueReference,
  titleFields: ["value.*", "lastSeen"],
  fieldPaths: (spec) => [...groupByPaths(spec), ...namedPaths(spec, "fields")],
  decides: true,
  compile(rule, spec) {
    const { groupBy, fields, learning, forgetAfter, maxValuesPerGroup, sources } = spec;
    const suppress = rule.suppress ?? forgetAfter;
    const lateness = rule.lateness ?? DEFAULT_LATENESS_MS;
    const readGroup = groupBy.map(pathReader);
    const readFields = fields.map(pathReader);
    const hashes = new Map<string, string>();
    return {
      params: {
        learning,
        forget: forgetAfter,
        lateness,
        suppress,
        maxValues: maxValuesPerGroup,
        ttl: 2 * (forgetAfter + learning + lateness + suppress) + 3_600_000,
        sources: sources ?? [],
      },
      semantics: {
        groupBy,
        fields,
        learning,
        forgetAfter,
        maxValuesPerGroup,
        suppress,
        ...(sources ? { sources } : {}),
      },
      groupPaths: groupBy,
      read(event) {
        const tuple: unknown[] = [];
        for (const read of readFields) {
          const value = read(event);
          if (value === undefined || value === null) return undefined; // events missing a field are ignored
          tuple.push(value);
        }
        const json = JSON.stringify(tuple);
        let value = hashes.get(json);
        if (value === undefined) {
          if (hashes.size >= 100_000) hashes.clear();
          value = hashKey("value", json).slice(0, 24);
          hashes.set(json, value);
        }
        const group = readGroup.map((read) => read(event) ?? null);
        // What the alert needs if the verdict waits for a watermark (the batch is gone by then).
        const { raw: _raw, ...trigger } = event;
        return { group, value, data: JSON.stringify({ event: trigger, group, tuple }) };
      },
    };
  },
  alert({ rule, plan, fired, groupValues, trigger }) {
    const fields = rule.newValue?.fields ?? [];
    const kept = fired.data === undefined ? undefined : (JSON.parse(fired.data) as { tuple?: unknown[] });
    const tuple = kept?.tuple ?? fields.map((path) => pathReader(path)(trigger));
    const value = Object.fromEntries(fields.map((path, i) => [path, tuple[i]]));
    const lastSeen = fired.lastSeen === undefined ? undefined : iso(fired.lastSeen);
    return {
      id: newValueAlertId(rule.id, groupValues, fired.span * Number(plan.params.suppress), tuple),
      trigger,
      count: 1,
      windowStart: iso(fired.windowStart),
      windowEnd: iso(fired.windowEnd),
      eventIds: fired.eventIds,
      summaries: [summarize(trigger)],
      evidence: lastSeen === undefined ? { value } : { value, lastSeen },
      view: { value, lastSeen: lastSeen ?? "never" },
    };
  },
};
