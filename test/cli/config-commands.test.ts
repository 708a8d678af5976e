import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
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
      "sources:\n  - { name: logs, type: file, path: /var/log/audit.jsonl }\nchannels:\n  - { name: hook, type: webhook, url: https://hooks.example.com/vigil, secret: whsec_dGVzdA== }\n",
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
