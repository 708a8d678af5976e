// A standalone Redis that speaks only TLS and asks for a client certificate, with a CA of the test's own.
import { execFileSync, spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { connectRedis, RedisConfigSchema } from "@vigil/core";
import { waitUntil } from "../helpers.js";
import { connectError } from "./connect-error.js";

const PORT = 7191;
const NAME = "redis.vigil.test";
const dir = mkdtempSync(join(tmpdir(), "vigil-tls-"));
const file = (name: string) => join(dir, name);
let server: ChildProcess;
let exited: Promise<unknown>;

function openssl(...args: string[]): void {
  execFileSync("openssl", args, { cwd: dir, stdio: "ignore" });
}

/** A CA, a server certificate for NAME and a client certificate, both signed by the CA. */
function makeCertificates(): void {
  openssl(
    "req",
    "-x509",
    "-newkey",
    "rsa:2048",
    "-nodes",
    "-keyout",
    "ca.key",
    "-out",
    "ca.crt",
    "-days",
    "2",
    "-subj",
    "/CN=vigil test CA",
  );
  writeFileSync(file("server.ext"), `subjectAltName=DNS:${NAME}\n`);
  for (const who of ["server", "client"]) {
    openssl(
      "req",
      "-newkey",
      "rsa:2048",
      "-nodes",
      "-keyout",
      `${who}.key`,
      "-out",
      `${who}.csr`,
      "-subj",
      `/CN=${who === "server" ? NAME : "vigil"}`,
    );
    openssl(
      "x509",
      "-req",
      "-in",
      `${who}.csr`,
      "-CA",
      "ca.crt",
      "-CAkey",
      "ca.key",
      "-CAcreateserial",
      "-out",
      `${who}.crt`,
      "-days",
      "2",
      ...(who === "server" ? ["-extfile", "server.ext"] : []),
    );
  }
}

const url = `rediss://127.0.0.1:${PORT}`;
const TLS = { caFile: file("ca.crt"), certFile: file("client.crt"), keyFile: file("client.key"), servername: NAME };

/** The error connecting to the TLS server with these `redis.tls` settings. */
const tlsError = (tls: Record<string, unknown>, timeoutMs = 2_000) => connectError({ url, tls }, timeoutMs);

beforeAll(async () => {
  makeCertificates();
  server = spawn(
    "redis-server",
    [
      "--port",
      "0",
      "--tls-port",
      String(PORT),
      "--bind",
      "127.0.0.1",
      "--save",
      "",
      "--dir",
      dir,
      "--tls-cert-file",
      file("server.crt"),
      "--tls-key-file",
      file("server.key"),
      "--tls-ca-cert-file",
      file("ca.crt"),
      "--tls-auth-clients",
      "yes",
    ],
    { stdio: "ignore" },
  );
  exited = new Promise((resolve) => server.once("exit", resolve));
  await waitUntil(
    async () => {
      const client = await connectRedis(RedisConfigSchema.parse({ url, tls: TLS }), 500).catch(() => undefined);
      client?.disconnect();
      return client !== undefined;
    },
    15_000,
    "redis-server with TLS",
  );
});
afterAll(async () => {
  server.kill("SIGKILL");
  await exited;
  rmSync(dir, { recursive: true, force: true });
});

describe("Redis over TLS (rediss:// with redis.tls)", () => {
  it("connects with the CA, the client certificate and the server name", async () => {
    const redis = await connectRedis(RedisConfigSchema.parse({ url, tls: TLS }), 5_000);
    try {
      expect(await redis.ping()).toBe("PONG");
    } finally {
      await redis.quit();
    }
  });

  it("says TLS was refused, at once, when the server's certificate is not trusted or not for that name", async () => {
    const untrusted = await tlsError({ ...TLS, caFile: undefined });
    expect(untrusted.problem).toBe("tls");
    expect(untrusted.message).toMatch(
      new RegExp(
        `^Redis at ${url} refused the TLS connection \\(.*(self-signed|self signed|unable to verify).*\\); check redis.tls$`,
      ),
    );
    const wrongName = await tlsError({ ...TLS, servername: "other.vigil.test" });
    expect(wrongName.problem).toBe("tls");
    expect(wrongName.message).toMatch(
      /refused the TLS connection \(Hostname\/IP does not match certificate's altnames/,
    );
  });

  it("says TLS was refused when the server wants a client certificate and gets none", async () => {
    // TLS 1.3: the server's alert comes after the handshake; a retry sees it if a loaded machine missed it.
    const error = await tlsError({ caFile: TLS.caFile, servername: NAME }, 6_000);
    expect(error.problem, error.message).toBe("tls");
    expect(error.message).toMatch(new RegExp(`^Redis at ${url} refused the TLS connection \\(.*certificate required`));
  });

  it("names a TLS file it cannot read", async () => {
    const error = await tlsError({ ...TLS, caFile: file("missing.crt") });
    expect(error.problem).toBe("tls");
    expect(error.message).toBe(`redis.tls.caFile ${file("missing.crt")} cannot be read (ENOENT)`);
  });
});
