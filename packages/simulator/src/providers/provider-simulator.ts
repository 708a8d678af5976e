import { randomUUID } from "node:crypto";
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { z } from "zod";
import { providerDefinition } from "./provider-registry.js";
import {
  PROVIDER_NAMES,
  type FeedOrder,
  type ProviderCredentials,
  type ProviderDefinition,
  type ProviderName,
  type ProviderRecord,
  type ProviderRecordDraft,
  type ProviderRuntime,
  type RecordFactory,
  type StoredRecord,
} from "./provider.types.js";
import { FaultInjector, FaultSettingsSchema, type FaultKind, type FaultSettings } from "./shared/fault-injector.js";
import { clientAddress, emptyResponse, textResponse, type SimRequest, type SimResponse } from "./shared/http-kit.js";
import { MICROS_PER_DAY, MICROS_PER_MS, nowUs } from "./shared/instant.js";
import { SlidingWindowRateLimiter, type RateLimitSetting, type RateLimitVerdict } from "./shared/rate-limiter.js";
import { RecordStore } from "./shared/record-store.js";
import { deriveSeed, errorMessage } from "@vigil/core";
import { appendSpan, draftTimes, plantBoundaryTies } from "./shared/timeline.js";
import {
  DEFAULT_RECORD_COUNT,
  DEFAULT_SPAN_DAYS,
  ProviderSimulatorOptionsSchema,
  type ProviderSimulatorOptions,
} from "./simulator-options.schema.js";

/** One request the simulator answered. */
export interface RequestLogEntry {
  provider: ProviderName;
  method: string;
  /** Path under the provider's prefix, e.g. `/api/v2/audit_logs.json`. */
  path: string;
  /** The query string with its `?`, or `""`. */
  query: string;
  status: number;
  /** The fault injected into this request, if any. */
  fault?: FaultKind;
  /** Set when a route threw (the client got the provider's 500). */
  error?: string;
  /** ISO time the request arrived. */
  at: string;
}

/** A running simulator of the providers' audit-log APIs. */
export interface ProviderSimulator {
  /** `http://host:port`, the server's origin. */
  readonly origin: string;
  /** The providers this simulator serves. */
  readonly providers: readonly ProviderName[];
  /** The base URL a connector is configured with, e.g. `http://127.0.0.1:41234/zendesk` (Logfire's ends in `/logfire/api`). */
  baseUrl(provider: ProviderName): string;
  /** The credentials the provider accepts (and the ones it answers 403 to). */
  credentials<P extends ProviderName>(provider: P): ProviderCredentials<P>;
  /**
   * Adds records while the server runs: `count` generated ones dated after everything already
   * served (up to now), or the given partial records with the rest generated. Returns what was
   * added, as the list endpoint serves it (for BloodHound a draft outcome brings its intent row).
   */
  append<P extends ProviderName>(provider: P, records: number | ProviderRecordDraft<P>[]): ProviderRecord<P>[];
  /** Every record the provider's API can serve, in its native shape and default order. */
  groundTruth<P extends ProviderName>(provider: P): ProviderRecord<P>[];
  /** Replaces the fault settings (and restarts their seeded sequence); `undefined` turns faults off. */
  setFaults(faults: FaultSettings | undefined): void;
  /** Every request answered, in order. */
  readonly requestLog: readonly RequestLogEntry[];
  clearRequestLog(): void;
  close(): Promise<void>;
}

const MAX_BODY_BYTES = 5 * 1024 * 1024;

/** A provider's answer to one request, with what the request log notes about it. */
interface Served {
  response: SimResponse;
  fault?: FaultKind;
  error?: string;
}

/** What the shared server needs from one provider, with its record type erased. */
interface ProviderHost {
  readonly name: ProviderName;
  readonly baseUrl: string;
  serve(request: SimRequest): Promise<Served>;
  groundTruth(): unknown[];
  append(records: number | Record<string, unknown>[]): unknown[];
  credentials(): unknown;
}

interface HostSetup {
  baseUrl: string;
  seed: number;
  count: number;
  startUs: number;
  endUs: number;
  credentials: Record<string, unknown>;
  rateLimit: RateLimitSetting | undefined;
  order: FeedOrder | undefined;
  story: Record<string, unknown>[];
  limiter: SlidingWindowRateLimiter;
  faults: FaultInjector;
  abort: AbortSignal;
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve();
    const timer = setTimeout(resolve, ms);
    signal.addEventListener(
      "abort",
      () => {
        clearTimeout(timer);
        resolve();
      },
      { once: true },
    );
  });
}

function createHost<P extends ProviderName>(definition: ProviderDefinition<P>, setup: HostSetup): ProviderHost {
  const kit = definition.records;
  const store = new RecordStore<StoredRecord<P>>(
    (r) => kit.timeOf(r),
    (r) => kit.idOf(r),
  );
  const factory: RecordFactory<StoredRecord<P>> = kit.createFactory({ seed: setup.seed, baseUrl: setup.baseUrl });
  const credentials = { ...definition.defaultCredentials, ...setup.credentials } as ProviderCredentials<P>;
  const order = setup.order ?? definition.defaultOrder;

  const wireOrder = Object.keys(kit.schema.shape);

  /** Validates records and puts their keys in the provider's wire order (extra draft keys last). */
  function checked(records: StoredRecord<P>[], what: string): StoredRecord<P>[] {
    return records.map((record, index) => {
      const result = kit.schema.safeParse(record);
      if (!result.success)
        throw new Error(
          `${definition.name}: ${what} record ${index} is not a valid record:\n${z.prettifyError(result.error)}`,
        );
      const source = record as Record<string, unknown>;
      const ordered: Record<string, unknown> = {};
      for (const key of [...wireOrder, ...Object.keys(source)])
        if (key in source && !(key in ordered)) ordered[key] = source[key];
      return ordered as StoredRecord<P>;
    });
  }

  function appendDrafts(drafts: Record<string, unknown>[]): StoredRecord<P>[] {
    const undated = drafts.filter((draft) => kit.draftTimeUs(draft) === undefined).length;
    const times = draftTimes(undated, store.latestTimeUs(), nowUs(), kit.precision);
    let next = 0;
    const records = checked(
      drafts.flatMap((draft) => factory.fromDraft(draft, kit.draftTimeUs(draft) ?? times[next++] ?? nowUs())),
      "appended",
    );
    store.insert(records);
    return records;
  }

  const runtime: ProviderRuntime<P> = {
    name: definition.name,
    store,
    credentials,
    baseUrl: setup.baseUrl,
    order,
    appendDrafts,
  };

  const generated = checked(factory.generate(setup.count, setup.startUs, setup.endUs), "generated");
  store.insert(
    plantBoundaryTies(
      generated,
      (r) => kit.timeOf(r),
      (r, us) => kit.withTime(r, us),
    ),
  );
  if (setup.story.length > 0) appendDrafts(setup.story);

  async function serve(request: SimRequest): Promise<Served> {
    /** Adds the limiter's headers (when the request went through it) and the provider's last touch. */
    const finish = (response: SimResponse, verdict?: RateLimitVerdict): SimResponse => {
      const limitHeaders = verdict && definition.rateLimitHeaders ? definition.rateLimitHeaders(verdict, request) : {};
      const withLimits = { ...response, headers: { ...limitHeaders, ...response.headers } };
      return definition.finalize ? definition.finalize(request, withLimits) : withLimits;
    };

    const early = definition.preflight?.(request);
    if (early) return { response: finish(early) };
    const candidates = definition.routes.filter((r) => r.path.test(request.path));
    const route = candidates.find((r) => r.method === request.method);
    if (!route) {
      const allowed = [...new Set(candidates.map((r) => r.method))].join(", ");
      return {
        response: finish(candidates.length > 0 ? emptyResponse(405, { Allow: allowed }) : definition.notFound(request)),
      };
    }
    const setting = setup.rateLimit ?? route.rateLimit;
    let verdict: RateLimitVerdict | undefined;
    if (definition.rateLimitScope === "client-address") {
      verdict = setup.limiter.take(`${definition.name}|${route.endpoint}|${clientAddress(request)}`, setting);
      if (!verdict.allowed) return { response: finish(definition.tooManyRequests(request, verdict)) };
    }
    const auth = definition.authenticate(request, runtime);
    if (!auth.ok) return { response: finish(auth.response, verdict) };
    if (definition.rateLimitScope === "account") {
      verdict = setup.limiter.take(`${definition.name}|${route.endpoint}`, setting);
      if (!verdict.allowed) return { response: finish(definition.tooManyRequests(request, verdict)) };
    }

    // Faults hit only authenticated, admitted requests, and never change the stored records.
    const fault = setup.faults.draw(definition.name);
    const tag = fault ? { fault: fault.kind } : {};
    if (fault?.kind === "500") return { response: finish(definition.serverError(request)), ...tag };
    if (fault?.kind === "429") {
      const burst: RateLimitVerdict = {
        allowed: false,
        limit: setting.requests,
        remaining: 0,
        resetInMs: 1_000,
        retryAfterMs: 1_000,
        windowMs: setting.perMs,
      };
      return { response: finish(definition.tooManyRequests(request, burst)), ...tag };
    }
    if (fault?.kind === "slow") await sleep(fault.delayMs, setup.abort);

    let response: SimResponse;
    try {
      const params =
        route.path
          .exec(request.path)
          ?.slice(1)
          .map((p) => p ?? "") ?? [];
      response = await route.handle(request, { params, runtime, principal: auth.principal });
    } catch (err) {
      return {
        response: finish(definition.serverError(request)),
        ...tag,
        error: errorMessage(err),
      };
    }
    if (fault?.kind === "malformed" && response.status >= 200 && response.status < 300) {
      response = setup.faults.corrupt(response, definition.recordsInBody, definition.requiredFields);
    }
    return { response: finish(response, verdict), ...tag };
  }

  const listed = (r: StoredRecord<P>) => structuredClone(kit.toListed(r));

  return {
    name: definition.name,
    baseUrl: setup.baseUrl,
    serve,
    groundTruth: () => (order === "oldest-first" ? store.ascending() : store.descending()).map((e) => listed(e.record)),
    append(records) {
      if (typeof records === "number") {
        const span = appendSpan(store.latestTimeUs(), nowUs(), records, kit.precision);
        const added = checked(factory.generate(records, span.startUs, span.endUs), "generated");
        store.insert(added);
        return added.map(listed);
      }
      return appendDrafts(records).map(listed);
    },
    credentials: () => ({ ...credentials }),
  };
}

function readBody(req: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on("data", (chunk: Buffer) => {
      size += chunk.length;
      if (size > MAX_BODY_BYTES) {
        reject(new Error("request body too large"));
        req.destroy();
        return;
      }
      chunks.push(chunk);
    });
    req.on("end", () => resolve(Buffer.concat(chunks)));
    req.on("error", reject);
  });
}

function writeResponse(res: ServerResponse, response: SimResponse): void {
  if (res.destroyed || res.writableEnded) return;
  const body = response.body;
  const payload = body.kind === "json" ? JSON.stringify(body.value) : body.kind === "text" ? body.text : "";
  const contentType =
    body.kind === "json" ? "application/json; charset=utf-8" : body.kind === "text" ? body.contentType : undefined;
  res.writeHead(response.status, {
    ...(contentType ? { "Content-Type": contentType } : {}),
    "Content-Length": String(Buffer.byteLength(payload)),
    ...response.headers,
  });
  res.end(payload);
}

/**
 * Starts one HTTP server simulating the audit-log APIs of the chosen providers, each under its
 * own path prefix (`/pylon`, `/zendesk`, `/ashby`, `/logfire`, `/bloodhound`); see
 * `ProviderSimulator.baseUrl`. Generated data is deterministic for a given seed and time span.
 */
export async function startProviderSimulator(options: ProviderSimulatorOptions = {}): Promise<ProviderSimulator> {
  const config = ProviderSimulatorOptionsSchema.parse(options);
  const providers: ProviderName[] = [...new Set(config.providers ?? PROVIDER_NAMES)];
  const endUs = (config.end?.getTime() ?? Date.now()) * MICROS_PER_MS;
  const startUs = config.start ? config.start.getTime() * MICROS_PER_MS : endUs - DEFAULT_SPAN_DAYS * MICROS_PER_DAY;
  if (startUs >= endUs) throw new Error("startProviderSimulator: start must be before end");

  const faults = new FaultInjector(config.faults, config.faults?.seed ?? deriveSeed(config.seed, "faults"));
  const limiter = new SlidingWindowRateLimiter();
  const abort = new AbortController();
  const hosts = new Map<string, ProviderHost>();
  const requestLog: RequestLogEntry[] = [];

  const server = createServer((req, res) => {
    handle(req, res).catch((err: unknown) => {
      writeResponse(res, textResponse(500, `provider simulator failed: ${errorMessage(err)}`));
    });
  });

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const receivedAtMs = Date.now();
    const rawTarget = req.url ?? "/";
    const url = new URL(rawTarget, "http://simulator.invalid");
    const prefix = url.pathname.split("/")[1] ?? "";
    const host = hosts.get(prefix);
    const body = await readBody(req);
    if (!host) {
      writeResponse(
        res,
        textResponse(
          404,
          `no simulated provider at /${prefix}; try one of ${[...hosts.keys()].map((p) => `/${p}`).join(", ")}`,
        ),
      );
      return;
    }
    const target = rawTarget.slice(prefix.length + 1) || "/";
    const path = url.pathname.slice(prefix.length + 1) || "/";
    const request: SimRequest = {
      method: (req.method ?? "GET").toUpperCase(),
      rawTarget,
      target: target.startsWith("/") ? target : `/${target}`,
      path,
      query: url.searchParams,
      headers: req.headers,
      body,
      remoteAddress: req.socket.remoteAddress ?? "127.0.0.1",
      remotePort: req.socket.remotePort ?? 0,
      requestId: randomUUID(),
      receivedAtMs,
    };
    const { response, fault, error } = await host.serve(request);
    requestLog.push({
      provider: host.name,
      method: request.method,
      path,
      query: url.search,
      status: response.status,
      ...(fault ? { fault } : {}),
      ...(error ? { error } : {}),
      at: new Date(receivedAtMs).toISOString(),
    });
    writeResponse(res, response);
  }

  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(config.port, config.host, () => {
      server.off("error", reject);
      resolve();
    });
  });
  const address = server.address() as AddressInfo;
  const hostname = address.family === "IPv6" ? `[${address.address}]` : address.address;
  const origin = `http://${hostname}:${address.port}`;

  try {
    for (const name of providers) {
      const definition = providerDefinition(name);
      hosts.set(
        name,
        createHost(definition, {
          baseUrl: `${origin}/${name}${definition.basePath}`,
          seed: deriveSeed(config.seed, name),
          count: config.records[name] ?? DEFAULT_RECORD_COUNT,
          startUs,
          endUs,
          credentials: (config.credentials[name] ?? {}) as Record<string, unknown>,
          rateLimit: config.rateLimit[name],
          order: name === "pylon" ? config.pylon.order : undefined,
          story: config.storyRecords[name] ?? [],
          limiter,
          faults,
          abort: abort.signal,
        }),
      );
    }
  } catch (err) {
    server.close();
    throw err;
  }

  function hostOf(provider: ProviderName): ProviderHost {
    const host = hosts.get(provider);
    if (!host)
      throw new Error(`provider simulator: ${provider} is not simulated here (simulating ${providers.join(", ")})`);
    return host;
  }

  return {
    origin,
    providers,
    baseUrl: (provider) => hostOf(provider).baseUrl,
    credentials: <P extends ProviderName>(provider: P) => hostOf(provider).credentials() as ProviderCredentials<P>,
    append: <P extends ProviderName>(provider: P, records: number | ProviderRecordDraft<P>[]) => {
      if (typeof records === "number" && (!Number.isInteger(records) || records < 0))
        throw new Error("append: count must be a non-negative integer");
      return hostOf(provider).append(records as number | Record<string, unknown>[]) as ProviderRecord<P>[];
    },
    groundTruth: <P extends ProviderName>(provider: P) => hostOf(provider).groundTruth() as ProviderRecord<P>[],
    setFaults: (settings) => faults.configure(settings === undefined ? undefined : FaultSettingsSchema.parse(settings)),
    requestLog,
    clearRequestLog: () => {
      requestLog.length = 0;
    },
    close: () =>
      new Promise<void>((resolve, reject) => {
        abort.abort();
        server.close((err) => (err ? reject(err) : resolve()));
        server.closeAllConnections();
      }),
  };
}
