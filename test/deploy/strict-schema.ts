// The generated models alone (the package index loads its HTTP client, which needs a newer Node).
import * as k8s from "@kubernetes/client-node/dist/gen/models/all.js";
import type { K8sObject } from "./helm.js";

/**
 * Strict structural check of a rendered object against the Kubernetes OpenAPI schema as
 * @kubernetes/client-node generates it (each model's attributeTypeMap: every field's JSON name and
 * type): an unknown field anywhere (`spec.replicass`) and a value of the wrong shape are refused,
 * as the API server's strict field validation refuses them. kubernetes-models' validators check
 * required fields and formats but let unknown fields through; the two together are the API's check.
 */
type Attribute = { baseName: string; type: string };
type Model = { attributeTypeMap?: Attribute[] };
const models = k8s as unknown as Record<string, Model | undefined>;

/** The client's model name of a kind: apps/v1 Deployment -> V1Deployment, autoscaling/v2 -> V2… */
export function modelOf(apiVersion: string, kind: string): string | undefined {
  const version = apiVersion.split("/").pop()!;
  const name = `${version.charAt(0).toUpperCase()}${version.slice(1)}${kind}`;
  return models[name]?.attributeTypeMap ? name : undefined;
}

export function strictProblems(object: K8sObject): string[] {
  const model = modelOf(object.apiVersion, object.kind);
  if (!model) return [`${object.apiVersion} ${object.kind}: no Kubernetes schema to check it against`];
  const problems: string[] = [];
  check(object, model, "", problems);
  return problems;
}

function check(value: unknown, type: string, path: string, problems: string[]): void {
  const at = path || "(root)";
  if (value === null || value === undefined) return;
  const array = /^Array<(.+)>$/.exec(type);
  if (array) {
    if (!Array.isArray(value)) return void problems.push(`${at}: expected a list, found ${typeof value}`);
    for (const [i, item] of value.entries()) check(item, array[1]!, `${path}[${i}]`, problems);
    return;
  }
  const map = /^\{ \[key: string\]: (.+); \}$/.exec(type);
  if (map) {
    if (typeof value !== "object" || Array.isArray(value))
      return void problems.push(`${at}: expected a map, found ${JSON.stringify(value)}`);
    for (const [k, v] of Object.entries(value)) check(v, map[1]!, `${path}.${k}`, problems);
    return;
  }
  switch (type) {
    case "string":
    case "Date":
      if (typeof value !== "string") problems.push(`${at}: expected a string, found ${JSON.stringify(value)}`);
      return;
    case "number":
      if (typeof value !== "number") problems.push(`${at}: expected a number, found ${JSON.stringify(value)}`);
      return;
    case "boolean":
      if (typeof value !== "boolean") problems.push(`${at}: expected true or false, found ${JSON.stringify(value)}`);
      return;
    case "IntOrString":
      if (typeof value !== "string" && !Number.isInteger(value))
        problems.push(`${at}: expected an integer or a string, found ${JSON.stringify(value)}`);
      return;
    case "any":
    case "object":
      return;
  }
  const attributes = models[type]?.attributeTypeMap;
  if (!attributes) return void problems.push(`${at}: unknown schema type ${type}`);
  if (typeof value !== "object" || Array.isArray(value))
    return void problems.push(`${at}: expected an object (${type}), found ${JSON.stringify(value)}`);
  const fields = new Map(attributes.map((a) => [a.baseName, a.type]));
  for (const [key, child] of Object.entries(value)) {
    const childType = fields.get(key);
    if (!childType) problems.push(`${path ? `${path}.` : ""}${key}: unknown field (not in ${type})`);
    else check(child, childType, path ? `${path}.${key}` : key, problems);
  }
}
