/**
 * A partial raw record, as a test or the demo's attack story writes it: any top-level field,
 * and for object fields (Ashby's `actor`, BloodHound's `fields`...) any subset of their keys.
 * Missing fields are generated.
 */
export type RecordDraft<T> = {
  [K in keyof T]?: T[K] extends readonly unknown[] ? T[K] : T[K] extends Record<string, unknown> ? Partial<T[K]> : T[K];
};

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/**
 * Lays a draft over a generated record: draft values win, object fields are merged one level
 * deep, and a key the draft sets to `undefined` is removed (to drop an optional field).
 */
export function mergeDraft<T extends object>(generated: T, draft: RecordDraft<T> | Record<string, unknown>): T {
  const out: Record<string, unknown> = { ...(generated as Record<string, unknown>) };
  for (const [key, value] of Object.entries(draft)) {
    if (value === undefined) {
      delete out[key];
    } else if (isPlainObject(value) && isPlainObject(out[key])) {
      const nested: Record<string, unknown> = { ...(out[key] as Record<string, unknown>) };
      for (const [nestedKey, nestedValue] of Object.entries(value)) {
        if (nestedValue === undefined) delete nested[nestedKey];
        else nested[nestedKey] = nestedValue;
      }
      out[key] = nested;
    } else {
      out[key] = value;
    }
  }
  return out as T;
}
