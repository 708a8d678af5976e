import { z } from "zod";
import { DurationSchema, GroupBySchema } from "@vigil/core";

export const TravelSchema = z.strictObject({
  groupBy: GroupBySchema.describe("Field path(s) the travels are tracked per, e.g. [actor.email]"),
  horizon: DurationSchema.describe("Pairs of events at most this far apart in event time, e.g. 24h"),
  maxSpeed: z.number().positive().describe("km/h: a pair implying a faster journey alerts, e.g. 900"),
  minDistance: z
    .number()
    .min(0)
    .describe("km, after subtracting both locations' accuracy radius: nearer pairs never alert, e.g. 100"),
});

const PlaceSchema = z.strictObject({
  eventId: z.string(),
  time: z.string(),
  ip: z.string(),
  country: z.string().optional(),
  city: z.string().optional(),
  latitude: z.number(),
  longitude: z.number(),
  accuracyRadius: z.number().optional(),
});

/** What a travel alert adds: both places and times, the distance between them (less both accuracies) and the speed. */
export const TravelEvidenceSchema = z.strictObject({
  from: PlaceSchema,
  to: PlaceSchema,
  distanceKm: z.number(),
  speedKmh: z.number(),
});
