import { ConnectorError } from "@vigil/core";
import { expect } from "vitest";
import type { Checkpoint, Connector } from "../kit/connector.js";
import { failedPull, pullAll } from "./pull-all.js";

/**
 * A pull with refused credentials: a ConnectorError that is not retried, names the source and the
 * HTTP status (`status` is a regular expression's text, e.g. `403` or `(401|403)`), holds no
 * secret, after exactly one request; `check()` then says the same.
 */
export async function expectCredentialsRefused(
  connector: Connector,
  expected: { status: string; secret: string; requests: () => number },
): Promise<void> {
  const { source } = connector;
  const error = await pullAll(connector).catch((err: unknown) => err);
  expect(error).toBeInstanceOf(ConnectorError);
  expect((error as ConnectorError).retryable).toBe(false);
  expect((error as Error).message).toMatch(
    new RegExp(
      `^source ${source}: authentication failed \\(HTTP ${expected.status}\\): check the credentials of source ${source}`,
    ),
  );
  expect((error as Error).message).not.toContain(expected.secret);
  expect(expected.requests()).toBe(1);
  await expect(connector.check()).rejects.toThrow(/check the credentials/);
}

/** A pull from `from` that meets a malformed page: it yields nothing, and its error names the page as `page` says. */
export async function expectMalformedPage(connector: Connector, from: Checkpoint | undefined, page: RegExp | string) {
  const { pages, error } = await failedPull(connector, from);
  expect(pages).toBe(0);
  expect(error).toBeInstanceOf(ConnectorError);
  if (typeof page === "string") expect((error as Error).message).toContain(page);
  else expect((error as Error).message).toMatch(page);
  return error as ConnectorError;
}
