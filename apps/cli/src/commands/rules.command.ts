import type { Command } from "commander";
import { formatDuration, formatProblem, RuleError } from "@vigil/core";
import { writeFileSync } from "node:fs";
import {
  attackCoverage,
  ipGeoFromConfig,
  loadRuleSet,
  loadRules,
  ruleCatalogMarkdown,
  ruleJsonSchema,
  runRuleTests,
} from "@vigil/engine";
import { ruleLoadOptions } from "../rule-options.js";
import { stringify } from "yaml";
import { CliError, cliContext, requireRedis, type GlobalOptions } from "../context.js";
import { print } from "../format.js";
import { unroutedRuleWarnings } from "../unrouted-rules.js";

export function registerRulesCommands(program: Command, globals: () => GlobalOptions): void {
  const rules = program.command("rules").description("validate, test and describe detection rules");

  rules
    .command("validate")
    .description(
      "check rule files; prints every problem as file:line:col: message, and warns of rules whose alerts no route takes",
    )
    .argument("[paths...]", "rule files or folders (default: rules.paths from the config)")
    .action((paths: string[]) => {
      const { config } = cliContext(globals());
      const targets = paths.length ? paths : config.rules.paths;
      try {
        const { rules: loaded, warnings } = loadRuleSet(targets, ruleLoadOptions(config));
        for (const warning of warnings) print(`${formatProblem(warning)} (warning)`);
        print(
          `${loaded.length} rule(s) valid in ${targets.join(", ")}${warnings.length ? `, ${warnings.length} warning(s)` : ""}`,
        );
        for (const warning of unroutedRuleWarnings(loaded, config)) print(`warning: ${warning}`);
      } catch (err) {
        if (!(err instanceof RuleError)) throw err;
        for (const problem of err.problems) print(formatProblem(problem));
        print(`${err.problems.length} problem(s)`);
        process.exitCode = 1;
      }
    });

  rules
    .command("test")
    .description("run the tests: inside rule files through the real engine (in-memory rule state; --redis: on Redis)")
    .argument("[paths...]", "rule files or folders (default: rules.paths from the config)")
    .option(
      "--redis",
      "keep rule state in the configured Redis (each test in a namespace of its own) instead of in memory",
    )
    .action(async (paths: string[], options: { redis?: boolean }) => {
      const { config } = cliContext(globals());
      const loaded = loadRules(paths.length ? paths : config.rules.paths, ruleLoadOptions(config));
      const redis = options.redis ? await requireRedis(config) : undefined;
      try {
        const geo = ipGeoFromConfig(config.engine.geoip);
        const results = await runRuleTests(loaded, { ...(redis ? { redis } : {}), ...(geo ? { geo } : {}) });
        for (const result of results) {
          const mark = result.passed ? "pass" : "FAIL";
          print(`${mark}  ${result.ruleId} › ${result.test}${result.message ? `\n      ${result.message}` : ""}`);
        }
        const failed = results.filter((r) => !r.passed).length;
        const untested = loaded.filter((r) => !r.rule.tests?.length).map((r) => r.rule.id);
        print(`\n${results.length - failed} passed, ${failed} failed`);
        if (untested.length) print(`rules without tests: ${untested.join(", ")}`);
        if (failed) process.exitCode = 1;
      } finally {
        await redis?.quit();
      }
    });

  rules
    .command("show")
    .description("print one rule as it is in force: after the overrides, lists, macros and exceptions that apply to it")
    .argument("<id>", "the rule's id")
    .option("--rules <paths...>", "rule files or folders (default: rules.paths from the config)")
    .action((id: string, options: { rules?: string[] }) => {
      const { config } = cliContext(globals());
      const loaded = loadRules(options.rules ?? config.rules.paths, ruleLoadOptions(config));
      const found = loaded.find((l) => l.rule.id === id);
      if (!found) throw new CliError(`no rule "${id}" is loaded (${loaded.length} rules)`, 1);
      console.log(`# ${found.file}:${found.line}:${found.column}`);
      for (const o of found.overrides ?? []) console.log(`# overridden at ${o.file}:${o.line}:${o.column}`);
      const { tests: _tests, ...rule } = found.rule;
      console.log(stringify(withDurations(rule), { lineWidth: 0 }).trimEnd());
    });

  rules
    .command("docs")
    .description(
      "write the Markdown catalog of the rules: id, name, severity, kind, ATT&CK, description, false positives",
    )
    .argument("[paths...]", "rule files or folders (default: rules.paths from the config)")
    .option("--out <file>", "where to write it (default: stdout)")
    .action((paths: string[], options: { out?: string }) => {
      const { config } = cliContext(globals());
      const markdown = ruleCatalogMarkdown(
        loadRules(paths.length ? paths : config.rules.paths, ruleLoadOptions(config)),
      );
      if (options.out) writeFileSync(options.out, markdown);
      else process.stdout.write(markdown);
    });

  rules
    .command("coverage")
    .description("the ATT&CK tactics and techniques the rules cover, and the rules without tests")
    .argument("[paths...]", "rule files or folders (default: rules.paths from the config)")
    .action((paths: string[]) => {
      const { config } = cliContext(globals());
      const coverage = attackCoverage(loadRules(paths.length ? paths : config.rules.paths, ruleLoadOptions(config)));
      for (const tactic of coverage.tactics) {
        console.log(
          `${tactic.name}: ${tactic.techniques.length ? `${tactic.techniques.length} technique(s)` : "not covered"}`,
        );
        for (const t of tactic.techniques) console.log(`  ${t.id} ${t.name}: ${t.rules.join(", ")}`);
      }
      const covered = coverage.tactics.filter((t) => t.techniques.length).length;
      console.log(`\n${covered} of ${coverage.tactics.length} tactics covered`);
      for (const { ruleId, problem } of coverage.unknownTags) console.log(`${ruleId}: ${problem}`);
      console.log(
        coverage.untested.length ? `rules without tests: ${coverage.untested.join(", ")}` : "every rule has tests",
      );
    });

  rules
    .command("schema")
    .description("print the JSON Schema of a rule file (for editors)")
    .action(() => {
      print(JSON.stringify(ruleJsonSchema(), null, 2));
    });
}

/** Fields holding durations (milliseconds once parsed), written back as durations. */
const DURATION_FIELDS = new Set(["suppress", "lateness", "within", "learning", "forgetAfter"]);

function withDurations(value: unknown, key = ""): unknown {
  if (typeof value === "number" && DURATION_FIELDS.has(key)) return value === 0 ? 0 : formatDuration(value);
  if (Array.isArray(value)) return value.map((item) => withDurations(item));
  if (value && typeof value === "object")
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, withDurations(v, k)]));
  return value;
}
