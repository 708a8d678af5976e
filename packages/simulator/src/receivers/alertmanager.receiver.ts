import { type HttpReceiver, startHttpReceiver } from "./http-receiver.js";

const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;

/**
 * Alertmanager's `POST /api/v2/alerts`, checked against its OpenAPI `postableAlerts`: an array of
 * alerts with string labels (Prometheus label names, at least one) and annotations, and date-time
 * `startsAt`/`endsAt`; answers 200, or 400 with the problems. For fault injection; the channel's
 * own test also runs against a real Alertmanager.
 */
export async function startAlertmanagerReceiver(): Promise<HttpReceiver> {
  return startHttpReceiver({
    name: "Alertmanager",
    validate(request) {
      if (!Array.isArray(request.json)) return ["the body must be a JSON array of alerts"];
      const problems: string[] = [];
      for (const [i, alert] of (request.json as Record<string, unknown>[]).entries()) {
        const labels = alert.labels as Record<string, unknown> | undefined;
        if (!labels || typeof labels !== "object" || Object.keys(labels).length === 0)
          problems.push(`[${i}].labels: at least one label is required`);
        for (const [name, value] of Object.entries(labels ?? {})) {
          if (!LABEL_NAME.test(name)) problems.push(`[${i}].labels: ${name} is not a label name`);
          if (typeof value !== "string") problems.push(`[${i}].labels.${name} must be a string`);
        }
        for (const [name, value] of Object.entries((alert.annotations ?? {}) as Record<string, unknown>))
          if (typeof value !== "string") problems.push(`[${i}].annotations.${name} must be a string`);
        for (const key of ["startsAt", "endsAt"] as const)
          if (alert[key] !== undefined && Number.isNaN(Date.parse(String(alert[key]))))
            problems.push(`[${i}].${key} must be a date-time`);
      }
      return problems;
    },
    answer(request, problems) {
      if (request.path !== "/api/v2/alerts") return { status: 404, body: "404 page not found" };
      return problems.length
        ? { status: 400, body: { code: 400, message: problems.join("; ") } }
        : { status: 200, body: "" };
    },
  });
}
