import { execFile } from "node:child_process";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { describe, expect, it } from "vitest";
import { parse, stringify } from "yaml";
import { ConfigMap } from "kubernetes-models/v1/ConfigMap";
import { Secret } from "kubernetes-models/v1/Secret";
import { Service } from "kubernetes-models/v1/Service";
import { ServiceAccount } from "kubernetes-models/v1/ServiceAccount";
import { Deployment } from "kubernetes-models/apps/v1/Deployment";
import { StatefulSet } from "kubernetes-models/apps/v1/StatefulSet";
import { PodDisruptionBudget } from "kubernetes-models/policy/v1/PodDisruptionBudget";
import { NetworkPolicy } from "kubernetes-models/networking.k8s.io/v1/NetworkPolicy";
import { Pod } from "kubernetes-models/v1/Pod";
import { HorizontalPodAutoscaler } from "kubernetes-models/autoscaling/v2/HorizontalPodAutoscaler";
import { ScaledObject } from "@kubernetes-models/keda/keda.sh/v1alpha1/ScaledObject";
import { TriggerAuthentication } from "@kubernetes-models/keda/keda.sh/v1alpha1/TriggerAuthentication";
import { ServiceMonitor } from "@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1/ServiceMonitor";
import { PrometheusRule } from "@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1/PrometheusRule";
import { RedisConfigSchema } from "@vigil/core";
import { ALL_SWITCHES_ON, byKind, CHART, helm, named, renderChart, type K8sObject } from "./helm.js";
import { modelOf, strictProblems } from "./strict-schema.js";

const run = promisify(execFile);

/**
 * Validators of every kind the chart renders: the Kubernetes v1.36 API schema (kubernetes-models 5)
 * and the CRD schemas of KEDA 2 and the Prometheus operator.
 */
const MODELS: Record<string, new (data: never) => { validate(): void }> = {
  "v1/ConfigMap": ConfigMap,
  "v1/Secret": Secret,
  "v1/Service": Service,
  "v1/ServiceAccount": ServiceAccount,
  "v1/Pod": Pod,
  "autoscaling/v2/HorizontalPodAutoscaler": HorizontalPodAutoscaler,
  "apps/v1/Deployment": Deployment,
  "apps/v1/StatefulSet": StatefulSet,
  "policy/v1/PodDisruptionBudget": PodDisruptionBudget,
  "networking.k8s.io/v1/NetworkPolicy": NetworkPolicy,
  "keda.sh/v1alpha1/ScaledObject": ScaledObject,
  "keda.sh/v1alpha1/TriggerAuthentication": TriggerAuthentication,
  "monitoring.coreos.com/v1/ServiceMonitor": ServiceMonitor,
  "monitoring.coreos.com/v1/PrometheusRule": PrometheusRule,
};

const SCENARIOS: Record<string, Record<string, unknown>> = {
  defaults: {},
  "every switch on": ALL_SWITCHES_ON,
  "external Redis by URL, with autoscaling": {
    redis: { enabled: false },
    externalRedis: { url: "redis://redis.example.internal:6380/0" },
    autoscaling: { keda: { enabled: true } },
    networkPolicy: { enabled: true },
  },
  "external Redis from a Secret": {
    redis: { enabled: false },
    externalRedis: { existingSecret: "vigil-redis" },
    autoscaling: { keda: { enabled: true, redis: { address: "redis.example.internal:6379", tls: true } } },
  },
  "external Redis over TLS with a password Secret and database 3": {
    redis: { enabled: false },
    externalRedis: { url: "rediss://vigil@redis.example.internal:6380/3", passwordSecret: "redis-pass" },
    autoscaling: { keda: { enabled: true } },
  },
  "external Redis Cluster over TLS with a client certificate, with autoscaling": {
    redis: { enabled: false },
    externalRedis: {
      cluster: { nodes: ["redis-0.example.internal:6379", "redis-1.example.internal:6379"] },
      passwordSecret: "redis-pass",
      tls: { enabled: true, secret: "redis-tls", clientCertificate: true, servername: "redis.example.internal" },
    },
    autoscaling: { keda: { enabled: true } },
  },
  "external Redis behind Sentinels, with autoscaling": {
    redis: { enabled: false },
    networkPolicy: { enabled: true },
    externalRedis: {
      sentinel: {
        sentinels: ["sentinel-0.example.internal:26379", "sentinel-1.example.internal:26379"],
        masterName: "vigil",
        passwordSecret: "sentinel-pass",
      },
      username: "vigil",
      passwordSecret: "redis-pass",
    },
    autoscaling: { keda: { enabled: true } },
  },
  "CPU autoscaling (HPA), OpenShift-style security contexts": {
    autoscaling: { hpa: { enabled: true } },
    podSecurityContext: { runAsUser: null, runAsGroup: null, fsGroup: null },
    containerSecurityContext: { runAsUser: null, runAsGroup: null },
  },
  "existing Secret, only the engine": {
    secrets: { existingSecret: "vigil-credentials" },
    roles: { connectors: { enabled: false }, notifier: { enabled: false } },
  },
};

/**
 * Every object against its kind's schema (required fields, types, formats), and every built-in kind
 * strictly: a field the Kubernetes API does not have is refused, as the API server's strict field
 * validation (`kubectl apply --validate=strict`) refuses it.
 */
function validateObject(object: K8sObject): void {
  const Model = MODELS[`${object.apiVersion}/${object.kind}`];
  if (!Model)
    throw new Error(`${object.apiVersion} ${object.kind} ${object.metadata.name}: no schema to validate it against`);
  new Model(object as never).validate();
  if (modelOf(object.apiVersion, object.kind)) {
    const problems = strictProblems(object);
    if (problems.length) throw new Error(problems.join("; "));
  }
}

type Container = {
  name: string;
  command?: string[];
  args?: string[];
  ports?: { name: string; containerPort: number }[];
  securityContext?: Record<string, unknown> & {
    capabilities?: { drop?: string[]; add?: string[] };
    seccompProfile?: { type: string };
  };
  volumeMounts?: { name: string; mountPath: string }[];
  resources?: { requests?: Record<string, string>; limits?: Record<string, string> };
  startupProbe?: { httpGet?: { path: string; port: string | number } };
  readinessProbe?: { httpGet?: { path: string; port: string | number } };
  livenessProbe?: { httpGet?: { path: string; port: string | number } };
};
type PodSpec = {
  securityContext?: Record<string, unknown> & { seccompProfile?: { type: string } };
  containers: Container[];
  initContainers?: Container[];
  volumes?: (Record<string, unknown> & { name: string })[];
  automountServiceAccountToken?: boolean;
  terminationGracePeriodSeconds?: number;
  hostNetwork?: boolean;
  hostPID?: boolean;
  hostIPC?: boolean;
};
type Workload = K8sObject & {
  spec: {
    replicas?: number;
    template: { metadata: { annotations?: Record<string, string>; labels?: Record<string, string> }; spec: PodSpec };
  };
};

const workloads = (objects: K8sObject[]) =>
  objects.filter((o) => o.kind === "Deployment" || o.kind === "StatefulSet") as Workload[];

/** The Pod Security Standards "restricted" profile, checked field by field on one pod template. */
function assertRestricted(where: string, pod: PodSpec): void {
  const podContext = pod.securityContext ?? {};
  expect(pod.hostNetwork ?? false, where).toBe(false);
  expect(pod.hostPID ?? false, where).toBe(false);
  expect(pod.hostIPC ?? false, where).toBe(false);
  expect(pod.automountServiceAccountToken, `${where}: automountServiceAccountToken`).toBe(false);
  const allowedVolumes = [
    "configMap",
    "csi",
    "downwardAPI",
    "emptyDir",
    "ephemeral",
    "persistentVolumeClaim",
    "projected",
    "secret",
  ];
  for (const volume of pod.volumes ?? []) {
    const types = Object.keys(volume).filter((k) => k !== "name");
    expect(
      types.every((t) => allowedVolumes.includes(t)),
      `${where}: volume ${volume.name} is ${types.join(",")}`,
    ).toBe(true);
  }
  for (const c of [...pod.containers, ...(pod.initContainers ?? [])]) {
    const at = `${where} container ${c.name}`;
    const ctx = c.securityContext ?? {};
    expect(ctx.privileged ?? false, `${at}: privileged`).toBe(false);
    expect(ctx.allowPrivilegeEscalation, `${at}: allowPrivilegeEscalation`).toBe(false);
    expect(ctx.capabilities?.drop, `${at}: capabilities.drop`).toContain("ALL");
    expect(
      (ctx.capabilities?.add ?? []).every((cap) => cap === "NET_BIND_SERVICE"),
      `${at}: capabilities.add`,
    ).toBe(true);
    expect(ctx.runAsNonRoot ?? podContext.runAsNonRoot, `${at}: runAsNonRoot`).toBe(true);
    // The profile forbids uid 0; an unset uid is the image's (non-root, checked by the kubelet) or OpenShift's assigned one.
    const uid = (ctx.runAsUser ?? podContext.runAsUser) as number | undefined;
    expect(uid !== 0, `${at}: runAsUser ${uid}`).toBe(true);
    expect((ctx.seccompProfile ?? podContext.seccompProfile)?.type, `${at}: seccompProfile`).toBe("RuntimeDefault");
    expect(ctx.readOnlyRootFilesystem, `${at}: readOnlyRootFilesystem`).toBe(true);
    const tmp = c.volumeMounts?.find((m) => m.mountPath === "/tmp");
    expect(tmp, `${at}: /tmp mount`).toBeDefined();
    expect(pod.volumes?.find((v) => v.name === tmp!.name)?.emptyDir, `${at}: /tmp is an emptyDir`).toBeDefined();
    expect(
      c.resources?.requests?.memory && c.resources.requests.cpu && c.resources.limits?.memory,
      `${at}: requests and memory limit`,
    ).toBeTruthy();
  }
}

describe("the Helm chart", () => {
  it("passes helm lint with the defaults and with every switch on", async () => {
    const dir = mkdtempSync(join(tmpdir(), "vigil-lint-"));
    writeFileSync(join(dir, "on.yaml"), stringify(ALL_SWITCHES_ON));
    for (const args of [[], ["-f", join(dir, "on.yaml")]]) {
      const { stdout } = await helm(["lint", "--strict", CHART, ...args]);
      expect(stdout).toContain("1 chart(s) linted, 0 chart(s) failed");
    }
  }, 60_000);

  it.each(Object.entries(SCENARIOS))(
    "renders objects valid against the Kubernetes v1.36, KEDA and Prometheus-operator schemas: %s",
    async (_name, values) => {
      const objects = await renderChart(values);
      expect(objects.length).toBeGreaterThan(0);
      for (const object of objects) {
        try {
          validateObject(object);
        } catch (err) {
          throw new Error(`${object.kind} ${object.metadata.name}: ${(err as Error).message}`);
        }
      }
    },
    60_000,
  );

  it("gives each switch its objects, and none when off", async () => {
    const defaults = await renderChart({});
    const on = await renderChart(ALL_SWITCHES_ON);
    const kinds = (objects: K8sObject[]) => objects.map((o) => `${o.kind}/${o.metadata.name}`).sort();
    expect(kinds(defaults)).toEqual([
      "ConfigMap/vigil-config",
      "ConfigMap/vigil-redis-config",
      "ConfigMap/vigil-rules",
      "Deployment/vigil-connectors",
      "Deployment/vigil-engine",
      "Deployment/vigil-notifier",
      "Pod/vigil-test",
      "PodDisruptionBudget/vigil-connectors",
      "PodDisruptionBudget/vigil-engine",
      "PodDisruptionBudget/vigil-notifier",
      "Secret/vigil-redis",
      "Service/vigil-metrics",
      "Service/vigil-redis",
      "ServiceAccount/vigil",
      "StatefulSet/vigil-redis",
    ]);
    expect(kinds(on).filter((k) => !kinds(defaults).includes(k))).toEqual([
      "ConfigMap/vigil-dashboard",
      "NetworkPolicy/vigil-redis",
      "NetworkPolicy/vigil-workers",
      "PrometheusRule/vigil",
      "ScaledObject/vigil-engine",
      "ScaledObject/vigil-notifier",
      "Secret/vigil-secrets",
      "ServiceMonitor/vigil",
      "TriggerAuthentication/vigil-redis",
    ]);
    // Autoscaled Deployments leave their replica count to KEDA; connectors keep theirs.
    expect((named(on, "Deployment", "vigil-engine") as Workload).spec.replicas).toBeUndefined();
    expect((named(on, "Deployment", "vigil-connectors") as Workload).spec.replicas).toBe(1);
    // The dashboard is valid JSON.
    const dashboard = named(on, "ConfigMap", "vigil-dashboard") as K8sObject & { data: Record<string, string> };
    expect(JSON.parse(dashboard.data["vigil.json"]!).panels.length).toBeGreaterThan(5);
  }, 60_000);

  it.each(Object.entries(SCENARIOS))(
    "keeps every pod template within the restricted Pod Security Standard: %s",
    async (_name, values) => {
      const objects = await renderChart(values);
      const found = workloads(objects);
      expect(found.length).toBeGreaterThan(0);
      for (const w of found) assertRestricted(`${w.kind} ${w.metadata.name}`, w.spec.template.spec);
      if (objects.some((o) => o.kind === "ServiceAccount"))
        expect(
          (byKind(objects, "ServiceAccount")[0] as K8sObject & { automountServiceAccountToken: boolean })
            .automountServiceAccountToken,
        ).toBe(false);
    },
    60_000,
  );

  it("runs `vigil run <role>` per Deployment with probes on the metrics port, a grace period above the 30s shutdown bound, and a Redis StatefulSet with AOF on a volume", async () => {
    const objects = await renderChart({});
    for (const role of ["connectors", "engine", "notifier"]) {
      const pod = (named(objects, "Deployment", `vigil-${role}`) as Workload).spec.template.spec;
      const [c] = pod.containers;
      expect([...c!.command!, ...c!.args!]).toEqual(["vigil", "run", role]);
      const port = c!.ports!.find((p) => p.name === "metrics")!;
      expect(port.containerPort).toBe(9464);
      expect(c!.startupProbe?.httpGet).toEqual({ path: "/healthz", port: "metrics" });
      expect(c!.readinessProbe?.httpGet).toEqual({ path: "/readyz", port: "metrics" });
      expect(c!.livenessProbe?.httpGet).toEqual({ path: "/healthz", port: "metrics" });
      expect(pod.terminationGracePeriodSeconds).toBeGreaterThan(30);
    }
    const redis = named(objects, "StatefulSet", "vigil-redis") as Workload & {
      spec: { volumeClaimTemplates: { metadata: { name: string } }[] };
    };
    const redisContainer = redis.spec.template.spec.containers[0]!;
    // The password reaches redis-server on stdin, never as an argument (ps, the pod spec).
    expect(JSON.stringify([redisContainer.command, redisContainer.args])).not.toMatch(/requirepass \$\(|--requirepass/);
    expect(redisContainer.args!.join(" ")).toMatch(
      /exec redis-server \/etc\/redis\/redis\.conf - <<EOF\nrequirepass "\$REDIS_PASSWORD"\nEOF/,
    );
    const conf = (named(objects, "ConfigMap", "vigil-redis-config") as K8sObject & { data: Record<string, string> })
      .data["redis.conf"]!;
    expect(conf).toMatch(/^appendonly yes$/m);
    expect(conf).toMatch(/^maxmemory 768mb$/m);
    expect(conf).toMatch(/^maxmemory-policy noeviction$/m);
    expect(conf).toMatch(/^dir \/data$/m);
    // Workers reach it with the same generated password, through the kubelet's $(VAR) expansion.
    const engineEnv = (named(objects, "Deployment", "vigil-engine") as Workload).spec.template.spec
      .containers[0] as unknown as {
      env: { name: string; value?: string; valueFrom?: { secretKeyRef: { name: string } } }[];
    };
    const names = engineEnv.env.map((e) => e.name);
    expect(names.indexOf("REDIS_PASSWORD")).toBeLessThan(names.indexOf("REDIS_URL"));
    expect(engineEnv.env.find((e) => e.name === "REDIS_PASSWORD")!.valueFrom!.secretKeyRef.name).toBe("vigil-redis");
    expect(engineEnv.env.find((e) => e.name === "REDIS_URL")!.value).toBe(
      "redis://:$(REDIS_PASSWORD)@vigil-redis:6379",
    );
    // A first install's workers wait for Redis (its volume may take minutes) rather than crash-loop.
    expect(engineEnv.env.find((e) => e.name === "VIGIL_REDIS_WAIT")!.value).toBe("5m");
    expect(redisContainer.volumeMounts!.find((m) => m.mountPath === "/data")!.name).toBe(
      redis.spec.volumeClaimTemplates[0]!.metadata.name,
    );
  }, 60_000);

  it("renders the same manifests twice but for the generated password, which no pod template carries", async () => {
    const first = await renderChart(ALL_SWITCHES_ON);
    const second = await renderChart(ALL_SWITCHES_ON);
    const withoutPassword = (objects: K8sObject[]) =>
      objects.filter((o) => !(o.kind === "Secret" && o.metadata.name === "vigil-redis"));
    // Argo CD renders with `helm template` on every sync: nothing may roll by itself.
    expect(withoutPassword(second)).toEqual(withoutPassword(first));
    const secret = named(first, "Secret", "vigil-redis") as K8sObject & { data: Record<string, string> };
    const password = Buffer.from(secret.data["redis-password"]!, "base64").toString();
    expect(password).toMatch(/^[A-Za-z0-9]{32}$/);
    expect(JSON.stringify(workloads(first))).not.toContain(password);
    // Kept by `helm upgrade` (lookup) and by `helm uninstall` (resource policy), so the volume's data stays reachable.
    expect(secret.metadata.annotations?.["helm.sh/resource-policy"]).toBe("keep");
  }, 60_000);

  it("mounts in each role only the secret keys its own config reads", async () => {
    const objects = await renderChart({
      ...ALL_SWITCHES_ON,
      secrets: { files: { "zendesk-token": "z", "webhook-secret": "w", unused: "u" } },
    });
    const mounted = (role: string) => {
      const pod = (named(objects, "Deployment", `vigil-${role}`) as Workload).spec.template.spec;
      const volume = pod.volumes?.find((v) => v.name === "secrets") as
        | { secret?: { items: { key: string }[] } }
        | undefined;
      return volume?.secret?.items.map((i) => i.key) ?? [];
    };
    expect(mounted("connectors")).toEqual(["zendesk-token"]);
    expect(mounted("engine")).toEqual([]);
    expect(mounted("notifier")).toEqual(["webhook-secret"]);
    const config = (named(objects, "ConfigMap", "vigil-config") as K8sObject & { data: Record<string, string> }).data;
    const sections = (key: string) => Object.keys(parse(config[key]!) as object).sort();
    expect(sections("connectors.yaml")).not.toContain("channels");
    expect(sections("engine.yaml")).not.toContain("sources");
    expect(sections("engine.yaml")).not.toContain("channels");
    expect(sections("notifier.yaml")).not.toContain("sources");
    expect(sections("notifier.yaml")).toContain("routes");
  }, 60_000);

  it("reads an external Redis's TLS, database and password for KEDA as the workers do", async () => {
    const objects = await renderChart(SCENARIOS["external Redis over TLS with a password Secret and database 3"]!);
    const scaled = named(objects, "ScaledObject", "vigil-engine") as K8sObject & {
      spec: { triggers: { metadata: Record<string, string>; authenticationRef?: { name: string } }[] };
    };
    expect(scaled.spec.triggers[0]!.metadata).toMatchObject({
      address: "redis.example.internal:6380",
      enableTLS: "true",
      databaseIndex: "3",
      usernameFromEnv: "REDIS_USERNAME",
    });
    const auth = named(
      objects,
      "TriggerAuthentication",
      scaled.spec.triggers[0]!.authenticationRef!.name,
    ) as K8sObject & {
      spec: { secretTargetRef: { parameter: string; name: string; key: string }[] };
    };
    expect(auth.spec.secretTargetRef).toEqual([{ parameter: "password", name: "redis-pass", key: "redis-password" }]);
    const env = (named(objects, "Deployment", "vigil-engine") as Workload).spec.template.spec
      .containers[0] as unknown as {
      env: { name: string; value?: string }[];
    };
    expect(env.env.find((e) => e.name === "REDIS_URL")!.value).toBe(
      "rediss://vigil:$(REDIS_PASSWORD)@redis.example.internal:6380/3",
    );
    expect(env.env.find((e) => e.name === "REDIS_USERNAME")!.value).toBe("vigil");
  }, 60_000);

  it("points the workers and KEDA at an external Redis Cluster or Sentinels, passwords from Secrets", async () => {
    type Trigger = { type: string; metadata: Record<string, string>; authenticationRef?: { name: string } };
    const workload = (objects: K8sObject[]) =>
      (named(objects, "Deployment", "vigil-engine") as Workload).spec.template.spec as unknown as {
        containers: {
          env: { name: string; valueFrom?: { secretKeyRef: { name: string } } }[];
          volumeMounts: { name: string; mountPath: string }[];
        }[];
        volumes: { name: string; secret?: { secretName: string } }[];
      };
    const redisSection = (objects: K8sObject[]) =>
      RedisConfigSchema.parse(
        (
          parse(
            (named(objects, "ConfigMap", "vigil-config") as K8sObject & { data: Record<string, string> }).data[
              "engine.yaml"
            ]!,
          ) as { redis: unknown }
        ).redis,
      );

    const cluster = await renderChart(
      SCENARIOS["external Redis Cluster over TLS with a client certificate, with autoscaling"]!,
    );
    expect(redisSection(cluster)).toMatchObject({
      cluster: {
        nodes: ["redis-0.example.internal:6379", "redis-1.example.internal:6379"],
        password: "${REDIS_PASSWORD}",
      },
      tls: {
        caFile: "/etc/vigil/redis-tls/ca.crt",
        certFile: "/etc/vigil/redis-tls/tls.crt",
        keyFile: "/etc/vigil/redis-tls/tls.key",
        servername: "redis.example.internal",
      },
      prefix: "vigil",
    });
    const spec = workload(cluster);
    expect(spec.containers[0]!.env.find((e) => e.name === "REDIS_PASSWORD")!.valueFrom!.secretKeyRef.name).toBe(
      "redis-pass",
    );
    expect(spec.containers[0]!.env.find((e) => e.name === "REDIS_URL")).toBeUndefined();
    expect(spec.containers[0]!.volumeMounts).toContainEqual(
      expect.objectContaining({ name: "redis-tls", mountPath: "/etc/vigil/redis-tls" }),
    );
    expect(spec.volumes).toContainEqual({ name: "redis-tls", secret: { secretName: "redis-tls" } });
    const clusterTrigger = (
      named(cluster, "ScaledObject", "vigil-engine") as K8sObject & { spec: { triggers: Trigger[] } }
    ).spec.triggers[0]!;
    expect(clusterTrigger.type).toBe("redis-cluster");
    expect(clusterTrigger.metadata).toEqual({
      addresses: "redis-0.example.internal:6379,redis-1.example.internal:6379",
      // One hash tag: the list's slot is on one master, which KEDA's cluster scaler finds.
      listName: "{vigil}:vigil-events:wait",
      listLength: "200",
      activationListLength: "0",
      enableTLS: "true",
    });

    const sentinel = await renderChart(SCENARIOS["external Redis behind Sentinels, with autoscaling"]!);
    expect(redisSection(sentinel)).toMatchObject({
      sentinel: {
        sentinels: ["sentinel-0.example.internal:26379", "sentinel-1.example.internal:26379"],
        masterName: "vigil",
        username: "vigil",
        password: "${REDIS_PASSWORD}",
        sentinelPassword: "${REDIS_SENTINEL_PASSWORD}",
      },
    });
    const policy = named(sentinel, "NetworkPolicy", "vigil-workers") as K8sObject & {
      spec: { egress: { ports: { port: number }[] }[] };
    };
    // The Sentinels' port beside the data nodes' (networkPolicy.externalRedisPort).
    expect(policy.spec.egress[1]!.ports.map((p) => p.port)).toEqual([6379, 26379]);
    const env = workload(sentinel).containers[0]!.env;
    expect(env.find((e) => e.name === "REDIS_SENTINEL_PASSWORD")!.valueFrom!.secretKeyRef.name).toBe("sentinel-pass");
    const scaled = named(sentinel, "ScaledObject", "vigil-notifier") as K8sObject & { spec: { triggers: Trigger[] } };
    expect(scaled.spec.triggers[0]!.type).toBe("redis-sentinel");
    expect(scaled.spec.triggers[0]!.metadata).toMatchObject({
      addresses: "sentinel-0.example.internal:26379,sentinel-1.example.internal:26379",
      sentinelMaster: "vigil",
      listName: "{vigil}:vigil-deliveries:wait",
      usernameFromEnv: "REDIS_USERNAME",
    });
    const auth = named(
      sentinel,
      "TriggerAuthentication",
      scaled.spec.triggers[0]!.authenticationRef!.name,
    ) as K8sObject & {
      spec: { secretTargetRef: { parameter: string; name: string }[] };
    };
    expect(auth.spec.secretTargetRef.map((ref) => [ref.parameter, ref.name])).toEqual([
      ["password", "redis-pass"],
      ["sentinelPassword", "sentinel-pass"],
    ]);
  }, 60_000);

  it("schedules the chart's Redis like the workers: pull secrets, node selector, tolerations", async () => {
    const objects = await renderChart(ALL_SWITCHES_ON);
    const pod = (named(objects, "StatefulSet", "vigil-redis") as Workload).spec.template.spec as PodSpec &
      Record<string, unknown>;
    expect(pod.imagePullSecrets).toEqual([{ name: "registry-credentials" }]);
    expect(pod.nodeSelector).toEqual({ "node-role.example.com/stateful": "true" });
    expect(pod.tolerations).toEqual([{ key: "stateful", operator: "Exists", effect: "NoSchedule" }]);
    const defaults = (
      named(await renderChart({ nodeSelector: { zone: "a" } }), "StatefulSet", "vigil-redis") as Workload
    ).spec.template.spec as PodSpec & Record<string, unknown>;
    expect(defaults.nodeSelector).toEqual({ zone: "a" });
  }, 60_000);

  it("gives every option its place in the pod: image, extras, annotations, strategy, spread", async () => {
    const objects = await renderChart(ALL_SWITCHES_ON);
    const engine = named(objects, "Deployment", "vigil-engine") as Workload & { spec: { strategy: unknown } };
    const pod = engine.spec.template.spec as PodSpec & Record<string, unknown>;
    const [vigil, sidecar] = pod.containers as (Container & Record<string, unknown>)[];
    expect((vigil as unknown as { image: string }).image).toBe(
      `registry.example.com/secops/vigil:0.1.0@sha256:${"ab".repeat(32)}`,
    );
    expect(vigil!.envFrom).toEqual([{ configMapRef: { name: "proxy-settings" } }]);
    expect(vigil!.volumeMounts).toContainEqual({ name: "corp-ca", mountPath: "/etc/ssl/corp", readOnly: true });
    expect(pod.volumes).toContainEqual({ name: "corp-ca", configMap: { name: "corp-ca-bundle" } });
    expect(sidecar!.name).toBe("log-shipper");
    expect(pod.initContainers!.map((c) => c.name)).toEqual(["wait-for-proxy"]);
    expect(engine.metadata.annotations).toEqual({ "reloader.stakater.com/auto": "true" });
    expect(engine.spec.template.metadata.annotations).toMatchObject({
      "example.com/role": "engine",
      "example.com/team": "secops",
    });
    expect(engine.spec.strategy).toEqual({
      type: "RollingUpdate",
      rollingUpdate: { maxSurge: "25%", maxUnavailable: 0 },
    });
    expect((vigil as unknown as { env: { name: string; value?: string }[] }).env).toContainEqual({
      name: "EXTRA",
      value: "1",
    });
    const connectorsEnv = (named(objects, "Deployment", "vigil-connectors") as Workload).spec.template.spec
      .containers[0] as unknown as {
      env: { name: string }[];
    };
    expect(connectorsEnv.env.map((e) => e.name)).not.toContain("EXTRA");
    // By default each role spreads over nodes and zones, never blocking scheduling.
    const spread = (named(await renderChart({}), "Deployment", "vigil-engine") as Workload).spec.template
      .spec as PodSpec & {
      topologySpreadConstraints: {
        topologyKey: string;
        whenUnsatisfiable: string;
        labelSelector: { matchLabels: Record<string, string> };
      }[];
    };
    expect(spread.topologySpreadConstraints.map((t) => [t.topologyKey, t.whenUnsatisfiable])).toEqual([
      ["kubernetes.io/hostname", "ScheduleAnyway"],
      ["topology.kubernetes.io/zone", "ScheduleAnyway"],
    ]);
    expect(spread.topologySpreadConstraints[0]!.labelSelector.matchLabels["app.kubernetes.io/component"]).toBe(
      "engine",
    );
    const hpa = await renderChart(SCENARIOS["CPU autoscaling (HPA), OpenShift-style security contexts"]!);
    expect(byKind(hpa, "HorizontalPodAutoscaler").map((o) => o.metadata.name)).toEqual([
      "vigil-engine",
      "vigil-notifier",
    ]);
    expect((named(hpa, "Deployment", "vigil-engine") as Workload).spec.replicas).toBeUndefined();
    expect(
      (named(hpa, "Deployment", "vigil-engine") as Workload).spec.template.spec.securityContext,
    ).not.toHaveProperty("runAsUser");
  }, 60_000);

  it("refuses an unknown field in a rendered object, as the API server's strict validation does", async () => {
    const objects = await renderChart({});
    const engine = structuredClone(named(objects, "Deployment", "vigil-engine")) as Workload;
    (engine.spec as Record<string, unknown>).replicass = 3;
    (engine.spec.template.spec.containers[0] as Record<string, unknown>).imagePullPolicyy = "Always";
    expect(strictProblems(engine).sort()).toEqual([
      "spec.replicass: unknown field (not in V1DeploymentSpec)",
      "spec.template.spec.containers[0].imagePullPolicyy: unknown field (not in V1Container)",
    ]);
    expect(() => validateObject(engine)).toThrow(/spec\.replicass: unknown field/);
    expect(strictProblems(named(objects, "Deployment", "vigil-engine"))).toEqual([]);
  }, 60_000);

  it("rolls only the pods whose inputs changed (checksum annotations); rule changes roll nothing", async () => {
    const annotations = async (values: Record<string, unknown>) => {
      const objects = await renderChart(values);
      return Object.fromEntries(
        ["connectors", "engine", "notifier"].map((r) => [
          r,
          (named(objects, "Deployment", `vigil-${r}`) as Workload).spec.template.metadata.annotations ?? {},
        ]),
      );
    };
    const base = await annotations({});
    const newRule = await annotations({
      rules: { files: { "x.yaml": "id: x\nname: X\nseverity: low\nwhen: true\n" } },
    });
    // Engines reload rules in place (test/pipeline/rules-reload.test.ts): a new rule restarts no pod.
    expect(newRule).toEqual(base);
    // A role's config holds only what it reads: a notifier setting rolls the notifier, a source the connectors.
    const newNotifier = await annotations({ config: { notifier: { attempts: 3 } } });
    expect(newNotifier.notifier!["checksum/config"]).not.toBe(base.notifier!["checksum/config"]);
    const changedSource = await annotations({
      config: { sources: [{ name: "logs", type: "file", path: "/var/log/audit.jsonl" }] },
    });
    expect(changedSource.connectors!["checksum/config"]).not.toBe(base.connectors!["checksum/config"]);
    expect(changedSource.engine).toEqual(base.engine);
    expect(changedSource.notifier).toEqual(base.notifier);
    // A secret rolls the roles whose config reads it, and only them.
    const withSecrets = (token: string, webhook: string) =>
      annotations({
        ...ALL_SWITCHES_ON,
        roles: {},
        podAnnotations: {},
        secrets: { files: { "zendesk-token": token, "webhook-secret": webhook } },
      });
    const secret = await withSecrets("a", "w");
    const otherToken = await withSecrets("b", "w");
    expect(otherToken.connectors!["checksum/secrets"]).not.toBe(secret.connectors!["checksum/secrets"]);
    expect(otherToken.notifier).toEqual(secret.notifier);
    expect(otherToken.engine).toEqual(secret.engine);
    expect(secret.engine!["checksum/secrets"]).toBeUndefined();
  }, 90_000);

  it("refuses wrong values at install with a message naming them", async () => {
    const refuse = async (values: Record<string, unknown>) => {
      const error = await renderChart(values).then(
        () => undefined,
        (err: { stderr?: string }) => err.stderr ?? String(err),
      );
      expect(error, JSON.stringify(values)).toBeDefined();
      return error!;
    };
    expect(await refuse({ terminationGracePeriodSeconds: 10 })).toMatch(
      /terminationGracePeriodSeconds: Must be greater than or equal to 35/,
    );
    expect(await refuse({ roles: { engine: { replica: 3 } } })).toMatch(
      /roles\.engine: Additional property replica is not allowed/,
    );
    expect(await refuse({ logLevel: "verbose" })).toMatch(/logLevel/);
    expect(await refuse({ redis: { enabled: false } })).toMatch(/externalRedis/);
    expect(await refuse({ rules: { files: { "no extension": "id: x" } } })).toMatch(/rules\.files/);
    expect(await refuse({ autoscaling: { keda: { enabled: true }, hpa: { enabled: true } } })).toMatch(/enable one/);
    expect(
      await refuse({
        redis: { enabled: false },
        externalRedis: { existingSecret: "r" },
        autoscaling: { keda: { enabled: true } },
      }),
    ).toMatch(/autoscaling\.keda\.redis\.address is required/);
    expect(await refuse({ image: { digest: "latest" } })).toMatch(/image\.digest/);
  }, 60_000);

  it("writes alert rules that promtool accepts, with an alert for every failure the issue names", async () => {
    const objects = await renderChart(ALL_SWITCHES_ON);
    const rule = named(objects, "PrometheusRule", "vigil") as K8sObject & {
      spec: { groups: { name: string; rules: { alert?: string; expr: string }[] }[] };
    };
    const dir = mkdtempSync(join(tmpdir(), "vigil-promtool-"));
    const file = join(dir, "rules.yaml");
    writeFileSync(file, stringify({ groups: rule.spec.groups }));
    const { stdout } = await run("promtool", ["check", "rules", file]);
    expect(stdout).toMatch(/SUCCESS: \d+ rules found/);
    const alerts = new Set(rule.spec.groups.flatMap((g) => g.rules.map((r) => r.alert)));
    for (const name of [
      "VigilSourceLagging",
      "VigilSourceFailing",
      "VigilRecordsQuarantined",
      "VigilDeliveriesFailing",
      "VigilJobsFailed",
      "VigilEventsLate",
      "VigilEventsBacklogGrowing",
      "VigilWorkerDown",
      "VigilRulesReloadFailing",
    ])
      expect(alerts).toContain(name);
    const all = rule.spec.groups.flatMap((g) => g.rules) as {
      alert: string;
      expr: string;
      annotations: Record<string, string>;
    }[];
    // Held for as long as the refused rule files stay: a gauge, not a counter's increase that clears after its window.
    expect(all.find((r) => r.alert === "VigilRulesReloadFailing")!.expr).toMatch(
      /^max by \(pod\) \(vigil_rules_refused\{.*\}\) > 0$/,
    );
    for (const r of all)
      expect(r.annotations.runbook_url).toBe(`https://runbooks.example.com/vigil#${r.alert.toLowerCase()}`);
    const fewer = await renderChart({
      metrics: { prometheusRule: { enabled: true, disabled: ["VigilEventsLate", "VigilWorkerDown"] } },
    });
    const left = (named(fewer, "PrometheusRule", "vigil") as typeof rule).spec.groups.flatMap((g) =>
      g.rules.map((r) => r.alert),
    );
    expect(left).not.toContain("VigilEventsLate");
    expect(left).not.toContain("VigilWorkerDown");
    expect(left).toContain("VigilJobsFailed");
    expect(JSON.stringify(named(fewer, "PrometheusRule", "vigil"))).not.toContain("runbook_url");
  }, 60_000);

  it("documents every value in the chart README", () => {
    const values = parse(readFileSync(join(CHART, "values.yaml"), "utf8")) as Record<string, unknown>;
    const readme = readFileSync(join(CHART, "README.md"), "utf8");
    const leaves: string[] = [];
    const walk = (node: unknown, path: string) => {
      if (node && typeof node === "object" && !Array.isArray(node) && Object.keys(node).length > 0) {
        for (const [k, v] of Object.entries(node)) walk(v, path ? `${path}.${k}` : k);
      } else leaves.push(path);
    };
    walk(values, "");
    // A value is documented by its own row, or by the row of the object holding it (e.g. `roles.engine.resources`).
    const documented = (leaf: string) => {
      const parts = leaf.split(".");
      for (let n = parts.length; n >= 1; n--)
        if (readme.includes(`| \`${parts.slice(0, n).join(".")}\` |`)) return true;
      return readme.includes(`| \`${leaf}\` |`);
    };
    const missing = leaves.filter((leaf) => !documented(leaf));
    expect(missing).toEqual([]);
  });
});
