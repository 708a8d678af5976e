import { createHash } from "node:crypto";
import { alertFieldValues, alertMatches, type Alert, type InhibitRuleConfig, type Keyspace } from "@vigil/core";
import type { RedisClient } from "@vigil/core";

/** Why an alert is not notified: the source alert that inhibits it, and the rule's index in `config.inhibit`. */
export interface Inhibition {
  by: string;
  inhibitRule: number;
}

/**
 * Inhibition rules over Redis. Each alert matching a rule's `source` is remembered (per rule and
 * per values of its `equal` fields, scored by when it was raised) for the rule's `for`; an alert
 * matching `target` is inhibited when a remembered source alert with the same values was raised
 * within `for` before it. Sources are remembered as the notifier takes them, so one raised after
 * its target, or processed after it, does not inhibit it.
 */
export class Inhibitor {
  constructor(
    private readonly redis: RedisClient,
    private readonly keyspace: Keyspace,
    private readonly rules: readonly InhibitRuleConfig[],
  ) {}

  private key(ruleIndex: number, alert: Alert): string {
    const rule = this.rules[ruleIndex]!;
    const values = rule.equal.map((field) => alertFieldValues(alert, field));
    const digest = createHash("sha256").update(JSON.stringify(values)).digest("hex").slice(0, 24);
    return this.keyspace.key("inhibit", ruleIndex, digest);
  }

  /** Remembers the alert as a source of every rule whose `source` it matches. */
  async remember(alert: Alert): Promise<void> {
    const raised = Date.parse(alert.createdAt);
    const pipeline = this.redis.pipeline();
    let any = false;
    for (const [i, rule] of this.rules.entries()) {
      if (!alertMatches(rule.source, alert)) continue;
      any = true;
      const key = this.key(i, alert);
      pipeline.zadd(key, raised, alert.id);
      pipeline.zremrangebyscore(key, "-inf", `(${raised - rule.for}`);
      pipeline.pexpire(key, rule.for * 2);
    }
    if (any) await pipeline.exec();
  }

  /** The first rule that inhibits this alert, with the source alert that does. */
  async check(alert: Alert): Promise<Inhibition | undefined> {
    const raised = Date.parse(alert.createdAt);
    for (const [i, rule] of this.rules.entries()) {
      if (!alertMatches(rule.target, alert)) continue;
      const sources = await this.redis.zrangebyscore(this.key(i, alert), raised - rule.for, raised);
      const by = sources.find((id) => id !== alert.id);
      if (by) return { by, inhibitRule: i };
    }
    return undefined;
  }
}
