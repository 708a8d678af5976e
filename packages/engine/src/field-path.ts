/** Compiles a dotted path (`actor.id`, `attributes.ip`) into a reader, splitting it once. */
export function pathReader(path: string): (value: unknown) => unknown {
  const parts = path.split(".");
  return (value) => {
    let current: unknown = value;
    for (const part of parts) {
      if (current === null || typeof current !== "object") return undefined;
      current = (current as Record<string, unknown>)[part];
    }
    return current;
  };
}
