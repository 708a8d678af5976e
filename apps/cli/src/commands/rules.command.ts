import type { Command } from "commander";
import { formatProblem, RuleError } from "@vigil/core";
import { loadRules, ruleJsonSchema, runRuleTests } from "@vigil/engine";
import { cliContext, requireRedis, type GlobalOptions } from "../context.js";
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
        const loaded = loadRules(targets);
        console.log(`${loaded.length} rule(s) valid in ${targets.join(", ")}`);
        for (const warning of unroutedRuleWarnings(loaded, config)) console.log(`warning: ${warning}`);
      } catch (err) {
        if (!(err instanceof RuleError)) throw err;
        for (const problem of err.problems) console.log(formatProblem(problem));
        console.log(`${err.problems.length} problem(s)`);
        process.exitCode = 1;
      }
    });

  rules
    .command("test")
    .description("run the tests: inside rule files through the real engine (isolated Redis namespace)")
    .argument("[paths...]", "rule files or folders (default: rules.paths from the config)")
    .action(async (paths: string[]) => {
      const { config } = cliContext(globals());
      const loaded = loadRules(paths.length ? paths : config.rules.paths);
      const redis = await requireRedis(config);
      try {
        const results = await runRuleTests(loaded, redis);
        for (const result of results) {
          const mark = result.passed ? "pass" : "FAIL";
          console.log(`${mark}  ${result.ruleId} › ${result.test}${result.message ? `\n      ${result.message}` : ""}`);
        }
        const failed = results.filter((r) => !r.passed).length;
        const untested = loaded.filter((r) => !r.rule.tests?.length).map((r) => r.rule.id);
        console.log(`\n${results.length - failed} passed, ${failed} failed`);
        if (untested.length) console.log(`rules without tests: ${untested.join(", ")}`);
        if (failed) process.exitCode = 1;
      } finally {
        await redis.quit();
      }
    });

  rules
    .command("schema")
    .description("print the JSON Schema of a rule file (for editors)")
    .action(() => {
      console.log(JSON.stringify(ruleJsonSchema(), null, 2));
    });
}
