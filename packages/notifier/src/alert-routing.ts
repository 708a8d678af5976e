import {
  matcherHolds,
  alertMatches,
  type Alert,
  type AlertMatcher,
  type Config,
  type DefaultRouteConfig,
  type RouteConfig,
} from "@vigil/core";

/** Grouping defaults, as Alertmanager's. */
const DEFAULT_GROUP_WAIT_MS = 30_000;
const DEFAULT_GROUP_INTERVAL_MS = 300_000;

export interface Grouping {
  groupBy: string[];
  groupWait: number;
  groupInterval: number;
}

/** Where a routed alert goes: one route's channels, grouped or one notification per alert. */
export interface RouteTarget {
  /** The route's name, else its path in the config (`routes.0.routes.1`), or `defaultRoute` / `notify`. */
  route: string;
  channels: string[];
  grouping?: Grouping;
}

type RoutingConfig = Pick<Config, "routes" | "defaultRoute">;
type RoutableAlert = Pick<Alert, "severity" | "ruleId" | "tags" | "notify" | "groupKey"> &
  Partial<Pick<Alert, "ruleName" | "provider" | "title">>;

interface Inherited {
  channels: string[];
  groupBy?: string[] | undefined;
  groupWait?: number | undefined;
  groupInterval?: number | undefined;
}

/**
 * Where an alert goes. A rule's own `notify` list wins (one notification per alert). Else the
 * routing tree: siblings are tried in order and the first that matches takes the alert, unless it
 * says `continue`; a matching route with child routes hands the alert to the children that match,
 * or keeps it when none does; children inherit channels and grouping they do not set. An alert no
 * route takes goes to `defaultRoute`; without one, nowhere (an empty list).
 */
export function routeAlert(alert: RoutableAlert, config: RoutingConfig): RouteTarget[] {
  if (alert.notify?.length) return [{ route: "notify", channels: [...new Set(alert.notify)] }];
  const targets = walk(config.routes, "routes", { channels: [] }, (route) => alertMatches(route.match, alert));
  if (targets.length) return targets;
  return config.defaultRoute ? [target("defaultRoute", config.defaultRoute)] : [];
}

function walk(
  routes: readonly RouteConfig[],
  path: string,
  inherited: Inherited,
  matches: (route: RouteConfig) => boolean,
): RouteTarget[] {
  const found: RouteTarget[] = [];
  for (const [i, route] of routes.entries()) {
    if (!matches(route)) continue;
    const id = route.name ?? `${path}.${i}`;
    const settings: Inherited = {
      channels: route.channels.length ? route.channels : inherited.channels,
      groupBy: route.groupBy ?? inherited.groupBy,
      groupWait: route.groupWait ?? inherited.groupWait,
      groupInterval: route.groupInterval ?? inherited.groupInterval,
    };
    const children = walk(route.routes, `${id}.routes`, settings, matches);
    if (children.length) found.push(...children);
    else if (settings.channels.length) found.push(target(id, settings));
    if (!route.continue) break;
  }
  return found;
}

function target(route: string, settings: Inherited | DefaultRouteConfig): RouteTarget {
  const channels = [...new Set(settings.channels)];
  if (!settings.groupBy) return { route, channels };
  return {
    route,
    channels,
    grouping: {
      groupBy: settings.groupBy,
      groupWait: settings.groupWait ?? DEFAULT_GROUP_WAIT_MS,
      groupInterval: settings.groupInterval ?? DEFAULT_GROUP_INTERVAL_MS,
    },
  };
}

/** What a rule says about the alerts it can raise, before it raises any. */
export type RuleRouting = Pick<Alert, "ruleId" | "ruleName" | "severity" | "tags" | "notify">;

const STATIC_FIELDS = new Set<string>(["ruleId", "ruleName", "severity", "tags"]);

/**
 * The rules whose alerts can reach no one: no `notify` list, no default route, and no route whose
 * matchers on the rule's own fields (ruleId, ruleName, severity, tags) hold. Matchers on what only
 * an alert knows (provider, title, group values) are taken as possibly holding.
 */
export function rulesReachingNoOne(rules: readonly RuleRouting[], config: RoutingConfig): string[] {
  if (config.defaultRoute) return [];
  return rules
    .filter((rule) => !rule.notify?.length)
    .filter((rule) => {
      const mayHold = (matcher: AlertMatcher) =>
        !STATIC_FIELDS.has(matcher.field) || matcherHolds(matcher, { ...rule, groupKey: {} });
      return walk(config.routes, "routes", { channels: [] }, (route) => route.match.every(mayHold)).length === 0;
    })
    .map((rule) => rule.ruleId);
}
