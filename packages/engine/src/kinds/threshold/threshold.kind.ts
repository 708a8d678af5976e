import { DEFAULT_LATENESS_MS } from "@vigil/core";
import { pathReader } from "../../field-path.js";
import { canonicalJson, groupByPaths, hashKey, iso, namedPaths, summariesOf, windowAlertId } from "../kind-support.js";
import type { RuleKind } from "../rule-kind.js";
import { thresholdReference } from "./threshold.reference.js";
import { ThresholdSchema } from "./threshold.schema.js";

/** Count matching events (or distinct values) per group in event-time windows. */
export const thresholdKind: RuleKind<typeof ThresholdSchema> = {
  name: "threshold",
  schema: ThresholdSchema,
  lua: new URL("./threshold.lua", import.meta.url),
  reference: thresholdReference,
  titleFields: [],
  fieldPaths: (spec) => [...groupByPaths(spec), ...namedPaths(spec, "distinct")],
  compile(rule, spec) {
    const { count, within, groupBy, distinct } = spec;
    const suppress = rule.suppress ?? within;
    const lateness = rule.lateness ?? DEFAULT_LATENESS_MS;
    const readGroup = groupBy.map(pathReader);
    const readDistinct = distinct ? pathReader(distinct) : undefined;
    return {
      params: {
        count,
        within,
        suppress,
        lateness,
        distinct: distinct !== undefined,
        ttl: 2 * (within + lateness + suppress) + 3_600_000,
        // Rules counting the same events share their log (threshold.lua): what decides which
        // events a rule counts, and nothing else.
        stream: hashKey(
          "threshold-stream",
          canonicalJson(rule.when),
          canonicalJson(groupBy),
          distinct ?? "",
          String(lateness),
        ).slice(0, 24),
      },
      semantics: { count, within, groupBy, distinct: distinct ?? null, suppress },
      groupPaths: groupBy,
      read(event) {
        let value: string | undefined;
        if (readDistinct) {
          const raw = readDistinct(event);
          if (raw === undefined || raw === null) return undefined; // nothing to count distinctly
          value = typeof raw === "string" ? raw : JSON.stringify(raw);
        }
        return { group: readGroup.map((read) => read(event) ?? null), value };
      },
    };
  },
  alert({ rule, plan, fired, groupValues, trigger, batchEvents }) {
    return {
      id: windowAlertId(rule.id, groupValues, fired.span * Number(plan.params.suppress)),
      trigger,
      count: fired.count,
      windowStart: iso(fired.windowStart),
      windowEnd: iso(fired.windowEnd),
      eventIds: fired.eventIds,
      summaries: summariesOf(fired.eventIds, batchEvents, trigger),
    };
  },
};
