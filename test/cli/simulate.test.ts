// `vigil simulate`, run as a user would: read the printed URLs and credentials, call the fakes, stop it.
import { createServer, type Server } from "node:net";
import { describe, expect, it } from "vitest";
import { runCli, startCli } from "../cli.js";
import { waitUntil } from "../helpers.js";

function listening(): Promise<{ server: Server; port: number }> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      resolve({ server, port: typeof address === "object" && address ? address.port : 0 });
    });
  });
}

describe("vigil simulate", () => {
  it("prints each provider's base URL and credentials, serves them, and stops with exit 0 on SIGTERM", async () => {
    const vigil = startCli(["simulate", "--port", "0", "--providers", "pylon", "zendesk", "--records", "20"]);
    let stdout = "";
    vigil.child.stdout!.on("data", (chunk) => (stdout += chunk));
    try {
      await waitUntil(
        () => stdout.includes("Ctrl-C stops it.\n") || vigil.child.exitCode !== null,
        20_000,
        "the simulator to start",
      );
      const origin = /^provider simulator on (http:\/\/127\.0\.0\.1:(\d+))\n/.exec(stdout);
      expect(origin, vigil.output()).not.toBeNull();
      expect(Number(origin![2])).toBeGreaterThan(0);
      const printed = [...stdout.matchAll(/^ {2}(\S+) +(http:\/\/\S+) {2}credentials: (\{.*\})$/gm)].map(
        ([, provider, base, credentials]) => ({
          provider: provider!,
          base: base!,
          credentials: JSON.parse(credentials!) as Record<string, string>,
        }),
      );
      expect(printed.map((p) => [p.provider, p.base])).toEqual([
        ["pylon", `${origin![1]}/pylon`],
        ["zendesk", `${origin![1]}/zendesk`],
      ]);
      const [pylon, zendesk] = printed as [(typeof printed)[0], (typeof printed)[0]];

      const page = await fetch(`${pylon.base}/audit-logs?limit=5`, {
        headers: { authorization: `Bearer ${pylon.credentials.token}` },
      });
      expect(page.status).toBe(200);
      const body = (await page.json()) as { data: { id: string }[]; pagination: { has_next_page: boolean } };
      expect(body.data).toHaveLength(5);
      expect(body.pagination.has_next_page).toBe(true);

      // --records 20: each provider serves exactly 20 records.
      const all = (await (
        await fetch(`${pylon.base}/audit-logs?limit=100`, {
          headers: { authorization: `Bearer ${pylon.credentials.token}` },
        })
      ).json()) as { data: unknown[] };
      expect(all.data).toHaveLength(20);
      const basic = Buffer.from(`${zendesk.credentials.email}/token:${zendesk.credentials.apiToken}`).toString(
        "base64",
      );
      const logs = await fetch(`${zendesk.base}/api/v2/audit_logs.json?page%5Bsize%5D=100`, {
        headers: { authorization: `Basic ${basic}` },
      });
      expect(logs.status).toBe(200);
      expect(((await logs.json()) as { audit_logs: unknown[] }).audit_logs).toHaveLength(20);

      // The printed credentials are the ones that matter: none, or another, is refused.
      expect((await fetch(`${pylon.base}/audit-logs?limit=5`)).status).toBe(401);
      expect(
        (await fetch(`${pylon.base}/audit-logs?limit=5`, { headers: { authorization: "Bearer not-the-token" } }))
          .status,
      ).toBe(401);
    } finally {
      vigil.child.kill("SIGTERM");
    }
    expect(await vigil.exited).toBe(0);
    const port = /on http:\/\/127\.0\.0\.1:(\d+)/.exec(stdout)![1];
    await expect(fetch(`http://127.0.0.1:${port}/pylon/audit-logs`)).rejects.toThrow();
  });

  it("refuses an unknown provider with exit 2, before serving anything", async () => {
    const result = await runCli(["simulate", "--port", "0", "--providers", "pylon", "github"]);
    expect(result).toMatchObject({ code: 2, stdout: "" });
    expect(result.stderr).toBe(
      "vigil: unknown provider(s) github: choose from pylon, zendesk, ashby, logfire, bloodhound\n",
    );
  });

  it("refuses a bad --append-every with exit 2 and exits rather than keep serving", async () => {
    const result = await runCli(["simulate", "--port", "0", "--providers", "pylon", "--append-every", "soon"]);
    expect(result).toMatchObject({ code: 2, stdout: "" });
    expect(result.stderr).toBe('vigil: --append-every must be a whole number from 0 to 86400, got "soon"\n');
  });

  it("says which port is taken, with exit 2, when --port is in use", async () => {
    const { server, port } = await listening();
    try {
      const result = await runCli(["simulate", "--port", String(port), "--providers", "pylon"]);
      expect(result).toMatchObject({ code: 2, stdout: "" });
      expect(result.stderr).toBe(
        `vigil: 127.0.0.1:${port} is already in use: choose another --port (0 picks a free one)\n`,
      );
    } finally {
      await new Promise((resolve) => server.close(resolve));
    }
  });
});
