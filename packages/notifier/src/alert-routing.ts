import type { Alert, Config, RouteConfig } from "@vigil/core";

/**
 * The channel names an alert goes to: the rule's own `notify` list when it has one,
 * else every channel of every matching route, without duplicates, in config order.
 */
export function routeAlert(
  alert: Pick<Alert, "severity" | "ruleId" | "tags" | "notify">,
  config: Pick<Config, "routes">,
): string[] {
  const names = alert.notify?.length
    ? alert.notify
    : config.routes.filter((route) => routeMatches(route, alert)).flatMap((route) => route.channels);
  return [...new Set(names)];
}

/** Every criterion a route lists must hold; a route without criteria takes every alert. */
export function routeMatches(route: RouteConfig, alert: Pick<Alert, "severity" | "ruleId" | "tags">): boolean {
  const { severity, ruleIds, tags } = route.match;
  if (severity && !severity.includes(alert.severity)) return false;
  if (ruleIds && !ruleIds.includes(alert.ruleId)) return false;
  if (tags && !tags.some((tag) => alert.tags.includes(tag))) return false;
  return true;
}
