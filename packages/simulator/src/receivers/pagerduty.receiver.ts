import { checkText, type HttpReceiver, startHttpReceiver } from "./http-receiver.js";

const SEVERITIES = new Set(["critical", "error", "warning", "info"]);
const ACTIONS = new Set(["trigger", "acknowledge", "resolve"]);

export interface PagerDutyReceiver extends HttpReceiver {
  /** The Events API v2 endpoint of this receiver. */
  readonly url: string;
  /** The routing key it accepts. */
  readonly routingKey: string;
  /** Alerts by `dedup_key`: a second trigger with the same key folds into the first. */
  readonly alerts: Map<string, { triggers: number; summary: string }>;
}

/**
 * PagerDuty's Events API v2 (`POST /v2/enqueue`): checks the documented required fields and
 * limits (routing key, event_action, summary ≤ 1024, source, severity, dedup_key ≤ 255) and
 * answers 202 `{ status: "success", dedup_key }`, or 400 `{ status: "invalid event", errors }`.
 */
export async function startPagerDutyReceiver(options: { routingKey?: string } = {}): Promise<PagerDutyReceiver> {
  const routingKey = options.routingKey ?? "R0UT1NGKEY0000000000000000000001";
  const alerts = new Map<string, { triggers: number; summary: string }>();
  const receiver = await startHttpReceiver({
    name: "PagerDuty",
    validate(request) {
      const event = request.json as Record<string, unknown> | undefined;
      if (!event || typeof event !== "object") return ["the body is not a JSON object"];
      const problems: string[] = [];
      if (typeof event.routing_key !== "string" || event.routing_key.length !== 32)
        problems.push("routing_key must be 32 characters");
      if (!ACTIONS.has(String(event.event_action)))
        problems.push("event_action must be trigger, acknowledge or resolve");
      problems.push(...checkText("dedup_key", event.dedup_key, 255, event.event_action !== "trigger"));
      if (event.event_action !== "trigger") return problems;
      const payload = event.payload as Record<string, unknown> | undefined;
      if (!payload || typeof payload !== "object") return [...problems, "payload is required"];
      problems.push(...checkText("payload.summary", payload.summary, 1024));
      problems.push(...checkText("payload.source", payload.source, 255));
      if (!SEVERITIES.has(String(payload.severity)))
        problems.push("payload.severity must be critical, error, warning or info");
      if (payload.timestamp !== undefined && Number.isNaN(Date.parse(String(payload.timestamp))))
        problems.push("payload.timestamp must be an ISO 8601 time");
      if (
        payload.custom_details !== undefined &&
        (typeof payload.custom_details !== "object" || payload.custom_details === null)
      )
        problems.push("payload.custom_details must be an object");
      for (const [i, link] of ((event.links ?? []) as Record<string, unknown>[]).entries())
        if (typeof link.href !== "string") problems.push(`links[${i}].href is required`);
      return problems;
    },
    answer(request, problems) {
      if (request.path !== "/v2/enqueue") return { status: 404, body: { status: "not found" } };
      if (problems.length)
        return { status: 400, body: { status: "invalid event", message: "Event object is invalid", errors: problems } };
      const event = request.json as { routing_key: string; dedup_key?: string; payload: { summary: string } };
      if (event.routing_key !== routingKey)
        return {
          status: 400,
          body: { status: "invalid event", message: "Invalid routing key", errors: ["routing_key"] },
        };
      const dedupKey = event.dedup_key ?? `pd-${alerts.size + 1}`;
      const known = alerts.get(dedupKey);
      alerts.set(dedupKey, { triggers: (known?.triggers ?? 0) + 1, summary: event.payload.summary });
      return { status: 202, body: { status: "success", message: "Event processed", dedup_key: dedupKey } };
    },
  });
  return { ...receiver, url: `${receiver.baseUrl}/v2/enqueue`, routingKey, alerts };
}
