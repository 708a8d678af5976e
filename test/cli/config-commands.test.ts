import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { ConfigError, parseConfigText, RuleError } from "@vigil/core";
import { loadRules } from "@vigil/engine";
import { VigilConfigSchema } from "../../apps/cli/src/vigil-config.js";
import { chartConfigJsonSchema, configJsonSchema } from "../../apps/cli/src/config-schema.js";
import { REPO_ROOT, runCli } from "../cli.js";
import { CHART, renderChart } from "../deploy/helm.js";

const dir = mkdtempSync(join(tmpdir(), "vigil-config-cmd-"));
const write = (name: string, text: string) => {
  const file = join(dir, name);
  writeFileSync(file, text);
  return file;
};

describe("vigil config validate", () => {
  it("accepts a valid file and says what it holds", async () => {
    const file = write(
      "good.yaml",
      "sources:\n  - { name: logs, type: file, path: /var/log/audit.jsonl }\nchannels:\n  - { name: hook, type: webhook, url: https://hooks.example.com/vigil, secret: whsec_MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3 }\n",
    );
    const result = await runCli(["config", "validate", file]);
    expect(result.code).toBe(0);
    expect(result.stdout).toBe(`${file}: valid (1 source(s), 1 channel(s), 0 route(s))\n`);
  });

  it("prints every problem as file:line:col and exits 1", async () => {
    const file = write(
      "bad.yaml",
      [
        "sources:",
        "  - name: z",
        "    type: zendesk",
        "    baseUrl: https://acme.zendesk.com",
        "    auth: { oauthToken: x }",
        "    pollIntervall: 1m",
        "engine:",
        "  concurrency: many",
        "",
      ].join("\n"),
    );
    const result = await runCli(["config", "validate", file]);
    expect(result.code).toBe(1);
    const lines = result.stdout.trim().split("\n");
    expect(lines).toContainEqual(expect.stringMatching(new RegExp(`^${file}:6:5: .*pollIntervall`)));
    expect(lines).toContainEqual(expect.stringMatching(new RegExp(`^${file}:8:16: engine\\.concurrency: `)));
    expect(lines.at(-1)).toBe("2 problem(s)");
  });

  it("takes the file from --config when none is given, and says when it cannot be read", async () => {
    const missing = join(dir, "missing.yaml");
    const result = await runCli(["--config", missing, "config", "validate"]);
    expect(result.code).toBe(1);
    expect(result.stdout).toContain(`${missing}: cannot read config: ENOENT`);
  });
});

describe("the config's JSON Schema", () => {
  it("is generated from the zod schema; the committed copies are current (`pnpm schemas` rewrites them)", async () => {
    const committed = JSON.parse(readFileSync(join(REPO_ROOT, "schema/config.schema.json"), "utf8"));
    expect(committed).toEqual(configJsonSchema());
    const values = JSON.parse(readFileSync(join(CHART, "values.schema.json"), "utf8"));
    expect(values.properties.config).toEqual(chartConfigJsonSchema());
    const printed = await runCli(["config", "schema"]);
    expect(JSON.parse(printed.stdout)).toEqual(committed);
  });

  it("makes helm refuse a typo inside the chart's config, naming it", async () => {
    const refusal = (config: Record<string, unknown>) =>
      renderChart({ config }).then(
        () => "rendered",
        (err: { stderr?: string }) => err.stderr ?? String(err),
      );
    expect(await refusal({ sources: [{ name: "z", type: "zendeskk" }] })).toMatch(
      /config\.sources\.0\.type must be one of the following: "file", "pylon", "zendesk"/,
    );
    expect(
      await refusal({
        sources: [
          {
            name: "z",
            type: "zendesk",
            baseUrl: "https://acme.zendesk.com",
            auth: { token: "${file:/etc/vigil/secrets/t}", email: "a@b.example" },
            pollIntervall: "1m",
          },
        ],
      }),
    ).toMatch(/config\.sources\.0: Additional property pollIntervall is not allowed/);
    expect(await refusal({ engine: { concurrency: "8" } })).toMatch(/config\.engine\.concurrency/);
    // References stand for any value: a URL or duration may come from the environment.
    expect(
      await refusal({
        sources: [
          {
            name: "z",
            type: "zendesk",
            baseUrl: "${ZENDESK_URL}",
            auth: { oauthToken: "${file:/etc/vigil/secrets/t}" },
            pollInterval: "${POLL:-1m}",
          },
        ],
      }),
    ).toBe("rendered");
  }, 60_000);
});

describe("configuration messages", () => {
  const problems = (text: string, env: Record<string, string> = {}) => {
    try {
      parseConfigText(VigilConfigSchema, text, "vigil.config.yaml", env);
    } catch (err) {
      if (err instanceof ConfigError) return err.problems.map((p) => `${p.line}:${p.column}: ${p.message}`);
      throw err;
    }
    return [];
  };

  it("say what was found and what is expected", () => {
    expect(
      problems(
        'channels:\n  - { name: e, type: email, from: a@b.example, to: soc@example.com, smtp: { host: h, port: "abc" } }\n',
      ),
    ).toEqual([
      '2:52: channels.0.to: expected a list, found "soc@example.com" (a string)',
      '2:92: channels.0.smtp.port: expected a number, found "abc" (a string)',
    ]);
    expect(problems("engine: { concurrency: many }\n")).toEqual([
      '1:24: engine.concurrency: expected a number, found "many" (a string)',
    ]);
    expect(problems("sources:\n  - { name: z, type: zendeskk }\n")).toEqual([
      '2:22: sources.0.type: expected one of "file", "pylon", "zendesk", "ashby", "logfire", "bloodhound", found "zendeskk" (a string)',
    ]);
    // A union names each accepted form and what the value lacks or has too much for it.
    expect(
      problems(
        "sources:\n  - { name: z, type: zendesk, baseUrl: https://a.zendesk.com, auth: { email: a@b.example, apiToken: x } }\n",
      ),
    ).toEqual([
      '2:69: sources.0.auth: fits none of the 2 accepted forms: (1) token: is required (string), unknown key "apiToken"; (2) oauthToken: is required (string), unknown key "email", unknown key "apiToken"',
    ]);
    // A missing field is still just required.
    expect(
      problems("channels:\n  - { name: w, type: webhook, secret: whsec_MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3 }\n"),
    ).toEqual(["2:5: channels.0.url: is required (string)"]);
  });

  it("refuse a malformed URL at load, not at the first delivery", () => {
    expect(
      problems(
        'channels:\n  - { name: w, type: webhook, url: "htp:/bad url", secret: whsec_MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3 }\n',
      ),
    ).toEqual(['2:36: channels.0.url: expected a URL, found "htp:/bad url" (a string)']);
    expect(
      problems(
        'sources:\n  - { name: z, type: zendesk, baseUrl: "https://acme zendesk.com", auth: { oauthToken: x } }\n',
      ),
    ).toEqual([
      expect.stringMatching(/^2:40: sources\.0\.baseUrl: expected a URL, found "https:\/\/acme zendesk\.com"/),
    ]);
  });

  it("never repeat a value read from the environment or a file, nor a secret-looking key's value", () => {
    const text =
      'channels:\n  - { name: w, type: webhook, url: "${HOOK_URL}", secret: whsec_MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3 }\n';
    const [problem] = problems(text, { HOOK_URL: "htp:/token-abc123" });
    expect(problem).toBe("2:36: channels.0.url: expected a URL, found a string");
    expect(problems("channels:\n  - { name: w, type: webhook, url: https://h.example, secret: 12345 }\n")).toEqual([
      "2:63: channels.0.secret: expected a string, found a number",
    ]);
  });

  it("apply to rule files too", () => {
    const file = write(
      "rule.yaml",
      'id: r\nname: R\nseverity: high\nwhen: true\nthreshold: { count: "3", within: 10m, groupBy: [actor.id] }\n',
    );
    let messages: string[] = [];
    try {
      loadRules([file]);
    } catch (err) {
      if (!(err instanceof RuleError)) throw err;
      messages = err.problems.map((p) => p.message);
    }
    expect(messages).toEqual([expect.stringContaining('threshold.count: expected a number, found "3" (a string)')]);
  });
});
