import { AllowInsecureHttpSchema, DurationSchema, NameSchema, refuseInsecureHttp } from "@vigil/core";
import { z } from "zod";

/** An `alertmanager` channel in config: each alert POSTed to a Prometheus Alertmanager's `/api/v2/alerts`. */
export const AlertmanagerChannelSchema = z
  .strictObject({
    name: NameSchema,
    type: z.literal("alertmanager"),
    /** The Alertmanager's base URL, e.g. http://alertmanager.monitoring:9093 (or a route prefix under it). */
    url: z.url(),
    /** Accept an `http://` url (a local receiver or relay); otherwise it is refused at config load. */
    allowInsecureHttp: AllowInsecureHttpSchema,
    /** How long after it is raised an alert resolves (its `endsAt`): Vigil's alerts are events, not ongoing states. */
    resolveAfter: DurationSchema.prefault("1h"),
    timeout: DurationSchema.prefault("10s"),
    /** Extra headers, e.g. `authorization` for an Alertmanager behind a proxy. */
    headers: z.record(z.string(), z.string()).default({}),
  })
  .superRefine(refuseInsecureHttp("url"));
export type AlertmanagerChannelConfig = z.infer<typeof AlertmanagerChannelSchema>;
