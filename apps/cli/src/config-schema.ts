import { z } from "zod";
import { VigilConfigSchema } from "./vigil-config.js";

/** The JSON Schema of vigil.config.yaml, generated from the zod schema joined from the registries. */
export function configJsonSchema(): Record<string, unknown> {
  return {
    ...z.toJSONSchema(VigilConfigSchema, { target: "draft-7", io: "input", unrepresentable: "any" }),
    title: "Vigil configuration (vigil.config.yaml)",
    $id: "https://vigil.dev/schema/config.schema.json",
  };
}

/** The sections the Helm chart writes itself (from redisPrefix, rules.* and metricsPort). */
const CHART_OWNED = ["redis", "rules", "server"];

/** `${NAME}`, `${NAME:-default}` or `${file:/path}`: resolved when Vigil loads the file, so any string may be one. */
const REFERENCE = { type: "string", pattern: "^\\$\\{[^}]+\\}$" };

/** Where the chart's values schema puts the config's schema; its recursive parts (a route's `routes`) refer under it. */
const CHART_CONFIG_POINTER = "#/properties/config";

/**
 * The chart's `config` value: the config's schema less the sections the chart owns, with every
 * constrained string (a pattern, a format, a length) also accepting a whole `${…}` reference, and
 * its `$ref`s (`#/definitions/…`, the routing tree) pointing under `properties.config`.
 */
export function chartConfigJsonSchema(): Record<string, unknown> {
  const { $schema: _schema, $id: _id, title: _title, ...schema } = configJsonSchema();
  const properties = { ...(schema.properties as Record<string, unknown>) };
  for (const key of CHART_OWNED) delete properties[key];
  return {
    ...(relocateRefs(byType(allowReferences({ ...schema, properties }))) as Record<string, unknown>),
    description:
      "vigil.config.yaml less redis, rules and server, which the chart sets; generated from Vigil's config schema (pnpm schemas)",
  } as Record<string, unknown>;
}

function relocateRefs(node: unknown): unknown {
  if (Array.isArray(node)) return node.map(relocateRefs);
  if (!node || typeof node !== "object") return node;
  return Object.fromEntries(
    Object.entries(node).map(([key, value]) => [
      key,
      key === "$ref" && typeof value === "string" && value.startsWith("#/")
        ? `${CHART_CONFIG_POINTER}${value.slice(1)}`
        : relocateRefs(value),
    ]),
  );
}

function allowReferences(node: unknown): unknown {
  if (Array.isArray(node)) return node.map(allowReferences);
  if (!node || typeof node !== "object") return node;
  const object = Object.fromEntries(Object.entries(node).map(([k, v]) => [k, allowReferences(v)])) as Record<
    string,
    unknown
  >;
  const constrained = ["pattern", "format", "minLength", "maxLength", "enum"].some((k) => k in object);
  if (object.type === "string" && constrained && !("const" in object)) {
    const { default: fallback, description, ...rest } = object;
    return {
      ...(description === undefined ? {} : { description }),
      ...(fallback === undefined ? {} : { default: fallback }),
      anyOf: [rest, REFERENCE],
    };
  }
  return object;
}

/**
 * A union of objects told apart by their `type` (sources, channels) as an enum of the types plus one
 * `if type is X then X's schema` per type: a validator then says "type must be one of …" for a typo
 * and names the wrong field of the right type, where a oneOf reports every branch's mismatch.
 */
function byType(node: unknown): unknown {
  if (Array.isArray(node)) return node.map(byType);
  if (!node || typeof node !== "object") return node;
  const object = Object.fromEntries(Object.entries(node).map(([k, v]) => [k, byType(v)])) as Record<string, unknown>;
  const options = object.oneOf;
  if (!Array.isArray(options)) return object;
  const typeOf = (option: unknown) =>
    ((option as { properties?: { type?: { const?: unknown } } }).properties?.type?.const as string | undefined) ??
    undefined;
  const types = options.map(typeOf);
  if (types.some((t) => t === undefined)) return object;
  const { oneOf: _oneOf, ...rest } = object;
  return {
    ...rest,
    type: "object",
    required: ["type"],
    properties: { type: { enum: types } },
    allOf: options.map((option, i) => conditional({ properties: { type: { const: types[i] } } }, option)),
  };
}

/** JSON Schema's `{ if, then }` (an object that is only serialized, never awaited). */
function conditional(condition: unknown, consequence: unknown): Record<string, unknown> {
  // biome-ignore lint/suspicious/noThenProperty: the `then` keyword of JSON Schema
  return { if: condition, then: consequence };
}
