import { DEFAULT_LATENESS_MS } from "@vigil/core";
import { pathReader } from "../../field-path.js";
import { groupByPaths, iso, summariesOf, windowAlertId } from "../kind-support.js";
import type { RuleKind } from "../rule-kind.js";
import { journey, type Located } from "./travel.geo.js";
import { travelReference } from "./travel.reference.js";
import { TravelEvidenceSchema, TravelSchema } from "./travel.schema.js";

/** Located events a group keeps within its horizon at most; beyond it the oldest are dropped. */
const MAX_EVENTS_PER_GROUP = 200;

const round = (value: number, digits: number) => Math.round(value * 10 ** digits) / 10 ** digits;

/**
 * Impossible travel: two located events of a group, from different IPs, at most `horizon` apart,
 * whose distance (less both accuracy radii) implies a speed above `maxSpeed`. Events need `ip` and
 * `geo.latitude`/`geo.longitude` (IP enrichment adds them); the others are ignored.
 */
export const travelKind: RuleKind<typeof TravelSchema> = {
  name: "travel",
  schema: TravelSchema,
  evidence: TravelEvidenceSchema,
  titleFields: ["from.*", "to.*", "distanceKm", "speedKmh"],
  fieldPaths: groupByPaths,
  lua: new URL("./travel.lua", import.meta.url),
  reference: travelReference,
  compile(rule, spec) {
    const { groupBy, horizon, maxSpeed, minDistance } = spec;
    const suppress = rule.suppress ?? horizon;
    const lateness = rule.lateness ?? DEFAULT_LATENESS_MS;
    const readGroup = groupBy.map(pathReader);
    return {
      params: {
        horizon,
        maxSpeed,
        minDistance,
        suppress,
        lateness,
        maxEvents: MAX_EVENTS_PER_GROUP,
        ttl: 2 * (horizon + lateness + suppress) + 3_600_000,
      },
      semantics: { groupBy, horizon, maxSpeed, minDistance, suppress },
      groupPaths: groupBy,
      read(event) {
        const { ip, geo } = event;
        if (!ip || geo?.latitude === undefined || geo.longitude === undefined) return undefined;
        const at: Located = { ip, lat: geo.latitude, lon: geo.longitude, acc: geo.accuracyRadius ?? 0 };
        if (geo.country !== undefined) at.country = geo.country;
        if (geo.city !== undefined) at.city = geo.city;
        return { group: readGroup.map((read) => read(event) ?? null), data: JSON.stringify(at) };
      },
    };
  },
  alert({ rule, plan, fired, groupValues, trigger, batchEvents }) {
    const [a, b] = JSON.parse(fired.data ?? "[]") as [Located, Located];
    const { distance, speed } = journey(a, fired.windowStart, b, fired.windowEnd);
    const place = (at: Located, eventId: string | undefined, time: number) => ({
      eventId: eventId ?? "",
      time: iso(time),
      ip: at.ip,
      ...(at.country === undefined ? {} : { country: at.country }),
      ...(at.city === undefined ? {} : { city: at.city }),
      latitude: at.lat,
      longitude: at.lon,
      ...(at.acc ? { accuracyRadius: at.acc } : {}),
    });
    const evidence = {
      from: place(a, fired.eventIds[0], fired.windowStart),
      to: place(b, fired.eventIds[1], fired.windowEnd),
      distanceKm: round(distance, 1),
      speedKmh: Math.round(speed),
    };
    return {
      id: windowAlertId(rule.id, groupValues, fired.span * Number(plan.params.suppress)),
      trigger,
      count: 2,
      windowStart: iso(fired.windowStart),
      windowEnd: iso(fired.windowEnd),
      eventIds: fired.eventIds,
      summaries: summariesOf(fired.eventIds, batchEvents, trigger),
      evidence,
      view: evidence,
    };
  },
};
