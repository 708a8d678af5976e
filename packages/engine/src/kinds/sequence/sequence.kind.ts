import { DEFAULT_LATENESS_MS } from "@vigil/core";
import { compileCondition } from "../../condition.js";
import { pathReader } from "../../field-path.js";
import { groupByPaths, iso, summariesOf, windowAlertId } from "../kind-support.js";
import type { RuleKind } from "../rule-kind.js";
import { sequenceReference } from "./sequence.reference.js";
import { SequenceEvidenceSchema, SequenceSchema } from "./sequence.schema.js";

/** Steps of events per group, in order or not, whose whole chain lies within a span of event time. */
export const sequenceKind: RuleKind<typeof SequenceSchema> = {
  name: "sequence",
  schema: SequenceSchema,
  evidence: SequenceEvidenceSchema,
  lua: new URL("./sequence.lua", import.meta.url),
  reference: sequenceReference,
  titleFields: ["steps.*", "chain"],
  fieldPaths: groupByPaths,
  conditions: (spec) =>
    Array.isArray((spec as { steps?: unknown })?.steps)
      ? (spec as { steps: { when?: unknown }[] }).steps.map((step, i) => ({
          path: ["steps", i, "when"],
          logic: step?.when,
        }))
      : [],
  compile(rule, spec) {
    const { groupBy, within, ordered, steps } = spec;
    const suppress = rule.suppress ?? within;
    const lateness = rule.lateness ?? DEFAULT_LATENESS_MS;
    const readGroup = groupBy.map(pathReader);
    const tests = steps.map((step) => compileCondition(step.when).test);
    return {
      params: {
        counts: steps.map((s) => s.count),
        within,
        suppress,
        lateness,
        ordered,
        ttl: 2 * (within + lateness + suppress) + 3_600_000,
      },
      semantics: { groupBy, within, ordered, steps: steps.map((s) => ({ when: s.when, count: s.count })), suppress },
      anyOf: steps.map((s) => s.when),
      groupPaths: groupBy,
      read(event) {
        const matched: number[] = [];
        for (let i = 0; i < tests.length; i++) if (tests[i]!(event)) matched.push(i);
        if (matched.length === 0) return undefined;
        return { group: readGroup.map((read) => read(event) ?? null), steps: matched };
      },
    };
  },
  alert({ rule, plan, fired, groupValues, trigger, batchEvents }) {
    const steps = (rule.sequence?.steps ?? []).map((s) => s.name);
    const chain = (fired.chain ?? []).map((eventIds, i) => ({ name: steps[i] ?? `step${i + 1}`, eventIds }));
    return {
      id: windowAlertId(rule.id, groupValues, fired.span * Number(plan.params.suppress)),
      trigger,
      count: fired.count,
      windowStart: iso(fired.windowStart),
      windowEnd: iso(fired.windowEnd),
      eventIds: fired.eventIds,
      summaries: summariesOf(fired.eventIds, batchEvents, trigger),
      evidence: { chain },
      view: {
        chain,
        steps: Object.fromEntries(chain.map((c) => [c.name, { count: c.eventIds.length, eventIds: c.eventIds }])),
      },
    };
  },
};
