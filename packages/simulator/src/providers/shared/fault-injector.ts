import { z } from "zod";
import type { SimResponse } from "./http-kit.js";
import { SeededRandom } from "@vigil/core";

export const FAULT_KINDS = ["500", "429", "slow", "malformed"] as const;
const FaultKindSchema = z.enum(FAULT_KINDS);
export type FaultKind = z.infer<typeof FaultKindSchema>;

export const FaultSettingsSchema = z.strictObject({
  /** Share of requests (0..1) that get a fault. */
  rate: z.number().min(0).max(1),
  /** Which faults to draw from, uniformly; all four by default. */
  kinds: z.array(FaultKindSchema).min(1).optional(),
  /** Seed of the fault sequence; defaults to the simulator's seed. */
  seed: z.int().optional(),
  /** Upper bound of a "slow" delay; the delay is drawn between half of it and all of it. */
  maxDelayMs: z.int().min(0).max(60_000).optional(),
});
export type FaultSettings = z.infer<typeof FaultSettingsSchema>;

const DEFAULT_MAX_DELAY_MS = 1_500;

export interface FaultPlan {
  kind: FaultKind;
  /** For `slow`. */
  delayMs: number;
}

/**
 * Decides, request by request, whether to inject a fault. Decisions come from a seeded
 * generator, so a given seed yields the same sequence of faults for the same sequence of
 * requests. A 429 starts a short burst: the next one or two requests to the same provider
 * are refused too, the way a real limiter keeps refusing until its window moves.
 */
export class FaultInjector {
  private settings: FaultSettings | undefined;
  private rng: SeededRandom;
  private readonly burstLeft = new Map<string, number>();

  constructor(
    settings: FaultSettings | undefined,
    private readonly defaultSeed: number,
  ) {
    this.settings = settings;
    this.rng = new SeededRandom(settings?.seed ?? defaultSeed);
  }

  configure(settings: FaultSettings | undefined): void {
    this.settings = settings;
    this.rng = new SeededRandom(settings?.seed ?? this.defaultSeed);
    this.burstLeft.clear();
  }

  draw(provider: string): FaultPlan | undefined {
    const settings = this.settings;
    if (!settings || settings.rate <= 0) return undefined;
    const burst = this.burstLeft.get(provider) ?? 0;
    if (burst > 0) {
      this.burstLeft.set(provider, burst - 1);
      return { kind: "429", delayMs: 0 };
    }
    if (!this.rng.chance(settings.rate)) return undefined;
    const kind = this.rng.pick(settings.kinds ?? FAULT_KINDS);
    if (kind === "429") this.burstLeft.set(provider, this.rng.int(1, 2));
    const maxDelayMs = settings.maxDelayMs ?? DEFAULT_MAX_DELAY_MS;
    const delayMs = kind === "slow" ? Math.round(maxDelayMs / 2 + this.rng.next() * (maxDelayMs / 2)) : 0;
    return { kind, delayMs };
  }

  /**
   * A malformed copy of a successful JSON response: either a truncated (invalid) JSON body,
   * or valid JSON in which one record lacks a field the provider always sends. The stored
   * data is untouched: the response value is cloned first.
   */
  corrupt(
    response: SimResponse,
    locateRecords: (body: unknown) => Record<string, unknown>[] | undefined,
    requiredFields: readonly string[],
  ): SimResponse {
    if (response.body.kind !== "json") return response;
    const value: unknown = structuredClone(response.body.value);
    const records = locateRecords(value) ?? [];
    if (this.rng.chance(0.5) && records.length > 0) {
      const record = this.rng.pick(records);
      const present = requiredFields.filter((field) => field in record);
      if (present.length > 0) {
        delete record[this.rng.pick(present)];
        return { ...response, body: { kind: "json", value } };
      }
    }
    const text = JSON.stringify(value);
    const cut = Math.max(1, Math.min(text.length - 1, Math.floor(text.length * (0.3 + this.rng.next() * 0.5))));
    return {
      ...response,
      body: { kind: "text", text: text.slice(0, cut), contentType: "application/json; charset=utf-8" },
    };
  }
}
