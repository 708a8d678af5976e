import { DEFAULT_LATENESS_MS } from "@vigil/core";
import { compileCondition } from "../../condition.js";
import { pathReader } from "../../field-path.js";
import { groupByPaths, iso, summarize, windowAlertId } from "../kind-support.js";
import type { RuleKind } from "../rule-kind.js";
import { absenceReference } from "./absence.reference.js";
import { AbsenceSchema } from "./absence.schema.js";

/** Step 0: the event is an anchor; step 1: it is an expected event (a silence rule's events are both). */
const ANCHOR = 0;
const EXPECTED = 1;

/**
 * An anchor event with no expected event of its group within `within` after it (or, silence, an
 * event with no later one within `within`), decided only once the watermark of the rule's
 * sources passes the anchor's time plus `within`.
 */
export const absenceKind: RuleKind<typeof AbsenceSchema> = {
  name: "absence",
  schema: AbsenceSchema,
  lua: new URL("./absence.lua", import.meta.url),
  reference: absenceReference,
  titleFields: ["anchor.*", "deadline"],
  fieldPaths: groupByPaths,
  decides: true,
  conditions: (spec) => {
    const { after, expect } = (spec ?? {}) as { after?: unknown; expect?: unknown };
    return [
      ...(after === undefined ? [] : [{ path: ["after"], logic: after }]),
      ...(expect === undefined ? [] : [{ path: ["expect"], logic: expect }]),
    ];
  },
  compile(rule, spec) {
    const { groupBy, after, expect, within, sources } = spec;
    const suppress = rule.suppress ?? within;
    const lateness = rule.lateness ?? DEFAULT_LATENESS_MS;
    const readGroup = groupBy.map(pathReader);
    const silence = after === undefined;
    const isAnchor = silence ? () => true : compileCondition(after).test;
    const isExpected = silence ? () => true : compileCondition(expect).test;
    return {
      params: {
        within,
        suppress,
        lateness,
        silence,
        sources: sources ?? [],
        ttl: 2 * (within + lateness + suppress) + 3_600_000,
      },
      semantics: { groupBy, after, expect, within, suppress, sources: sources ?? [] },
      ...(silence ? {} : { anyOf: [after, expect] }),
      groupPaths: groupBy,
      read(event) {
        const steps: number[] = [];
        if (isAnchor(event)) steps.push(ANCHOR);
        if (isExpected(event)) steps.push(EXPECTED);
        if (steps.length === 0) return undefined;
        const group = readGroup.map((read) => read(event) ?? null);
        if (!steps.includes(ANCHOR)) return { group, steps };
        // What the alert needs of its anchor, kept with its deadline (the anchor's batch is long gone by then).
        const { raw: _raw, ...anchor } = event;
        return { group, steps, data: JSON.stringify({ event: anchor, group }) };
      },
    };
  },
  alert({ rule, plan, fired, groupValues, trigger }) {
    return {
      id: windowAlertId(rule.id, groupValues, fired.span * Number(plan.params.suppress)),
      trigger,
      count: 0,
      windowStart: iso(fired.windowStart),
      windowEnd: iso(fired.windowEnd),
      eventIds: fired.eventIds,
      summaries: [summarize(trigger)],
      view: { anchor: trigger, deadline: iso(fired.windowEnd) },
    };
  },
};
