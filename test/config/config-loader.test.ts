import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { VigilConfigSchema } from "@vigil/cli";
import {
  ConfigError,
  loadConfig as loadAnyConfig,
  parseConfigText as parseAnyConfigText,
  resolveReferences,
} from "@vigil/core";

// Core's loader with the composed schema, as the CLI uses it.
const parseConfigText = (text: string, file: string, env: Record<string, string>) =>
  parseAnyConfigText(VigilConfigSchema, text, file, env);
const loadConfig = (options: { path?: string; env: Record<string, string> }) =>
  loadAnyConfig({ schema: VigilConfigSchema, ...options });

function problemsOf(text: string, env: Record<string, string> = {}): string[] {
  try {
    parseConfigText(text, "vigil.config.yaml", env);
  } catch (err) {
    if (err instanceof ConfigError) return err.problems.map((p) => `${p.line}:${p.column} ${p.message}`);
    throw err;
  }
  return [];
}

describe("config loading", () => {
  it("accepts a file with only redis and sources, filling defaults", () => {
    const config = parseConfigText(
      "redis: { url: redis://127.0.0.1:6379/2, prefix: test }\nsources:\n  - { name: sample, type: file, path: events.jsonl }\n",
      "c.yaml",
      {},
    );
    expect(config.redis).toEqual({ url: "redis://127.0.0.1:6379/2", prefix: "test" });
    expect(config.sources[0]).toMatchObject({ name: "sample", type: "file", pollInterval: 60_000, batchSize: 200 });
    expect(config.rules.paths).toEqual(["rules"]);
    expect(config.channels).toEqual([]);
    expect(config.engine.dedupFor).toBe(86_400_000);
  });

  it("resolves ${VAR} and ${VAR:-default} from the environment", () => {
    const config = parseConfigText("redis:\n  url: redis://${REDIS_HOST:-localhost}:${REDIS_PORT}\n", "c.yaml", {
      REDIS_PORT: "6380",
    });
    expect(config.redis.url).toBe("redis://localhost:6380");
  });

  it("names file, line and variable for an unset reference, never a value", () => {
    expect(problemsOf("redis:\n  url: ${MISSING_URL}\n")).toEqual([
      "2:8 environment variable MISSING_URL is not set (write ${MISSING_URL:-default} to give a default)",
    ]);
  });

  it("reads secrets from files with ${file:...}", () => {
    const dir = mkdtempSync(join(tmpdir(), "vigil-config-"));
    writeFileSync(join(dir, "secret"), "whsec_YS0zMi1ieXRlLWtleS1mb3ItY29uZmlnLXRlc3RzISE=\n");
    const config = parseConfigText(
      `channels:\n  - { name: hook, type: webhook, url: "https://127.0.0.1:1/x", secret: "\${file:${join(dir, "secret")}}" }\n`,
      "c.yaml",
      {},
    );
    expect(config.channels[0]).toMatchObject({ secret: "whsec_YS0zMi1ieXRlLWtleS1mb3ItY29uZmlnLXRlc3RzISE=" });
  });

  it("refuses http:// webhook urls and provider baseUrls unless allowInsecureHttp, at their line and column", () => {
    const secret = `whsec_${Buffer.alloc(32, 9).toString("base64")}`;
    const text = [
      "sources:",
      "  - { name: zd, type: zendesk, baseUrl: http://acme.zendesk.example, auth: { oauthToken: t } }",
      "  - { name: py, type: pylon, baseUrl: http://127.0.0.1:4010/pylon, auth: { token: t } }",
      "  - { name: local, type: pylon, baseUrl: http://127.0.0.1:4010/pylon, allowInsecureHttp: true, auth: { token: t } }",
      "channels:",
      `  - { name: hook, type: webhook, url: "http://hooks.example/x?token=abc", secret: "${secret}" }`,
      `  - { name: local, type: webhook, url: "http://127.0.0.1:1/x", allowInsecureHttp: true, secret: "${secret}" }`,
      `  - { name: ftp, type: webhook, url: "ftp://hooks.example/x", secret: "${secret}" }`,
      "",
    ].join("\n");
    const insecure = (path: string) =>
      `${path}: http:// sends credentials and data in cleartext: use https://, or set allowInsecureHttp: true (a local simulator or relay)`;
    const problems = problemsOf(text);
    expect(problems).toEqual([
      `2:41 ${insecure("sources.0.baseUrl")}`,
      `3:39 ${insecure("sources.1.baseUrl")}`,
      `6:39 ${insecure("channels.0.url")}`,
      '8:38 channels.2.url: expected a URL, found "ftp://hooks.example/x" (a string)',
    ]);
    expect(problems.join("\n")).not.toContain("token=abc");
  });

  it("refuses a webhook secret that does not decode to 24-64 bytes, without printing it", () => {
    const secretOf = (bytes: number) => `whsec_${Buffer.alloc(bytes, 5).toString("base64")}`;
    const channel = (secret: string) =>
      `channels:\n  - { name: hook, type: webhook, url: "https://hooks.example/x", secret: "${secret}" }\n`;
    const refusal = (bytes: number) =>
      `2:74 channels.0.secret: a Standard Webhooks secret decodes to 24 to 64 bytes; this one decodes to ${bytes} (make one with: echo "whsec_$(openssl rand -base64 32)")`;
    expect(problemsOf(channel("whsec_A"))).toEqual([refusal(0)]);
    expect(problemsOf(channel(secretOf(23)))).toEqual([refusal(23)]);
    expect(problemsOf(channel(secretOf(65)))).toEqual([refusal(65)]);
    expect(problemsOf(channel(secretOf(24)))).toEqual([]);
    expect(problemsOf(channel(secretOf(64)))).toEqual([]);
    expect(problemsOf(channel(secretOf(16))).join()).not.toContain(secretOf(16).slice(6));
  });

  it("rejects unknown keys at their own line and column", () => {
    expect(problemsOf("redis:\n  url: redis://x\n  prefx: vigil\n")).toEqual(['3:3 unknown key "redis.prefx"']);
  });

  it("reports every bad value with its key path and position", () => {
    const problems = problemsOf(
      [
        "sources:",
        "  - name: a",
        "    type: file",
        "    path: x.jsonl",
        "    pollInterval: soon",
        "channels:",
        "  - { name: mail, type: email, from: a@b.c, to: [], smtp: { port: 99999 } }",
        "routes:",
        "  - channels: [nowhere]",
      ].join("\n"),
    );
    expect(problems).toEqual([
      expect.stringMatching(/^5:19 sources\.0\.pollInterval: .*duration/),
      expect.stringMatching(/^7:49 channels\.0\.to: /),
      expect.stringMatching(/^7:67 channels\.0\.smtp\.port: /),
      expect.stringMatching(/^9:16 routes\.0\.channels\.0: unknown channel "nowhere"/),
    ]);
  });

  it("reports YAML syntax errors with a position", () => {
    expect(problemsOf("redis:\n  url: [unclosed\n")[0]).toMatch(/^\d+:\d+ syntax error/);
  });

  it("falls back to defaults only when no config file was asked for", () => {
    const dir = mkdtempSync(join(tmpdir(), "vigil-config-"));
    expect(loadConfig({ path: undefined, env: {} }).redis.prefix).toBe("vigil");
    expect(() => loadConfig({ path: join(dir, "nope.yaml"), env: {} })).toThrow(
      /nope\.yaml: cannot read config: ENOENT/,
    );
    writeFileSync(join(dir, "v.yaml"), "redis: { prefix: fromenv }\n");
    expect(loadConfig({ env: { VIGIL_CONFIG: join(dir, "v.yaml") } }).redis.prefix).toBe("fromenv");
  });

  it("leaves plain text untouched", () => {
    expect(resolveReferences("no refs $HOME here", {}, () => {})).toBe("no refs $HOME here");
  });
});
