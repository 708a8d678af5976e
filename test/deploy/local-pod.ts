import { spawn, type ChildProcess } from "node:child_process";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { DockerfileParser } from "dockerfile-ast";
import { REPO_ROOT } from "../cli.js";
import type { K8sObject } from "./helm.js";

type EnvVar = {
  name: string;
  value?: string;
  valueFrom?: { secretKeyRef?: { name: string; key: string }; configMapKeyRef?: { name: string; key: string } };
};
type Probe = { httpGet?: { path: string; port: string | number }; periodSeconds?: number; failureThreshold?: number };
type Container = {
  command?: string[];
  args?: string[];
  env?: EnvVar[];
  ports?: { name?: string; containerPort: number }[];
  volumeMounts?: { name: string; mountPath: string }[];
  startupProbe?: Probe;
  readinessProbe?: Probe;
  livenessProbe?: Probe;
};
type KeyToPath = { key: string; path: string };
type Volume = {
  name: string;
  configMap?: { name: string; items?: KeyToPath[] };
  secret?: { secretName: string; items?: KeyToPath[] };
  emptyDir?: object;
};

/** The files a ConfigMap or Secret volume shows: every key, or only `items` at their paths (as the kubelet does). */
function projected(data: Record<string, string>, items: KeyToPath[] | undefined): [string, string][] {
  if (!items) return Object.entries(data);
  return items.map(({ key, path }) => {
    if (!(key in data)) throw new Error(`volume item ${key}: no such key`);
    return [path, data[key]!];
  });
}
export type DeploymentObject = K8sObject & {
  spec: { template: { spec: { containers: Container[]; volumes?: Volume[]; terminationGracePeriodSeconds?: number } } };
};

/** The kubelet's `$(NAME)` expansion in env values, command and args (`$$` escapes; unknown names stay as written). */
function expandVariables(text: string, vars: Record<string, string>): string {
  return text.replace(/\$\$|\$\(([A-Za-z_][A-Za-z0-9_]*)\)/g, (whole, name: string | undefined) =>
    name === undefined ? "$" : (vars[name] ?? whole),
  );
}

/** The image, as the Dockerfile builds it: the artifact at /app (WORKDIR), `vigil` on the PATH, and its ENV. */
export interface LocalImage {
  /** The folder the Dockerfile copies to /app. */
  app: string;
  /** Runs dist/vigil.js as the `vigil` command does. */
  vigil: string[];
}

function dockerfileEnv(): Record<string, string> {
  const dockerfile = DockerfileParser.parse(readFileSync(join(REPO_ROOT, "deploy/Dockerfile"), "utf8"));
  const stages = dockerfile.getFROMs();
  const lastStageStart = stages[stages.length - 1]!.getRange().start.line;
  const env: Record<string, string> = {};
  for (const instruction of dockerfile.getENVs()) {
    if (instruction.getRange().start.line < lastStageStart) continue;
    for (const property of instruction.getProperties())
      env[property.getName()] = (property.getValue() ?? "").replace(/^"(.*)"$/, "$1");
  }
  return env;
}

/**
 * What a kubelet would run for one Deployment, as a local process: the container's command and args,
 * the image's and the container's environment, ConfigMap and Secret volumes written as files under
 * `root` at their mount paths, and emptyDirs as folders there. Paths into the mounts and into /app are
 * mapped onto those folders (in env values, arguments and the mounted files' contents).
 */
export function localPod(
  deployment: DeploymentObject,
  objects: K8sObject[],
  options: { root: string; image: LocalImage; extraObjects?: K8sObject[] },
) {
  const pod = deployment.spec.template.spec;
  const container = pod.containers[0]!;
  const all = [...objects, ...(options.extraObjects ?? [])];
  const find = (kind: string, name: string) => {
    const found = all.find((o) => o.kind === kind && o.metadata.name === name) as
      | (K8sObject & { data?: Record<string, string> })
      | undefined;
    if (!found)
      throw new Error(`${deployment.metadata.name} needs ${kind} ${name}, which is neither rendered nor given`);
    return found;
  };
  const mounts = (container.volumeMounts ?? []).map((m) => ({
    ...m,
    volume: pod.volumes!.find((v) => v.name === m.name)!,
  }));
  const mapped = [...mounts.filter((m) => !m.volume.emptyDir).map((m) => m.mountPath), "/app"].sort(
    (a, b) => b.length - a.length,
  );
  const pattern = new RegExp(
    `(?<![\\w./-])(${mapped.map((p) => p.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")).join("|")})(?=[/"'\\s},\\]]|$)`,
    "g",
  );
  const localPath = (text: string) =>
    text.replace(pattern, (prefix: string) => (prefix === "/app" ? options.image.app : join(options.root, prefix)));

  for (const { mountPath, volume } of mounts) {
    const dir = join(options.root, mountPath);
    mkdirSync(dir, { recursive: true });
    if (volume.configMap) {
      for (const [key, value] of projected(find("ConfigMap", volume.configMap.name).data ?? {}, volume.configMap.items))
        writeFileSync(join(dir, key), localPath(value));
    } else if (volume.secret) {
      for (const [key, value] of projected(find("Secret", volume.secret.secretName).data ?? {}, volume.secret.items))
        writeFileSync(join(dir, key), Buffer.from(value, "base64"));
    } else if (!volume.emptyDir) {
      throw new Error(`volume ${volume.name}: only configMap, secret and emptyDir are emulated`);
    }
  }

  const env: Record<string, string> = { PATH: process.env.PATH ?? "/usr/bin:/bin" };
  for (const [name, value] of Object.entries(dockerfileEnv())) env[name] = localPath(value);
  const defined: Record<string, string> = {}; // what $(NAME) may refer to: the container's earlier variables
  for (const variable of container.env ?? []) {
    if (variable.value !== undefined) env[variable.name] = localPath(expandVariables(variable.value, defined));
    else if (variable.valueFrom?.secretKeyRef) {
      const ref = variable.valueFrom.secretKeyRef;
      env[variable.name] = Buffer.from(find("Secret", ref.name).data![ref.key]!, "base64").toString("utf8");
    } else if (variable.valueFrom?.configMapKeyRef) {
      const ref = variable.valueFrom.configMapKeyRef;
      env[variable.name] = find("ConfigMap", ref.name).data![ref.key]!;
    } else throw new Error(`env ${variable.name}: unsupported source`);
    defined[variable.name] = env[variable.name]!;
  }
  // A mounted /tmp: the image points HOME and TMPDIR there.
  for (const name of ["HOME", "TMPDIR"]) if (env[name]?.startsWith("/tmp")) env[name] = join(options.root, env[name]!);

  const argv = [...(container.command ?? []), ...(container.args ?? [])].map((arg) =>
    localPath(expandVariables(arg, defined)),
  );
  if (argv[0] !== "vigil") throw new Error(`${deployment.metadata.name}: the container runs ${argv[0]}, not vigil`);
  const command = [...options.image.vigil, ...argv.slice(1)];

  const portOf = (port: string | number) =>
    typeof port === "number" ? port : container.ports!.find((p) => p.name === port)!.containerPort;
  const probeUrl = (probe: Probe | undefined) =>
    probe?.httpGet ? `http://127.0.0.1:${portOf(probe.httpGet.port)}${probe.httpGet.path}` : undefined;

  return {
    name: deployment.metadata.name,
    command,
    env,
    cwd: options.image.app,
    graceSeconds: pod.terminationGracePeriodSeconds ?? 30,
    startup: {
      url: probeUrl(container.startupProbe),
      budgetMs: 1000 * (container.startupProbe?.periodSeconds ?? 10) * (container.startupProbe?.failureThreshold ?? 3),
    },
    readiness: { url: probeUrl(container.readinessProbe) },
    liveness: { url: probeUrl(container.livenessProbe) },
    start(): RunningPod {
      const child = spawn(command[0]!, command.slice(1), {
        cwd: options.image.app,
        env,
        stdio: ["ignore", "pipe", "pipe"],
      });
      let output = "";
      child.stdout!.on("data", (chunk) => (output += chunk));
      child.stderr!.on("data", (chunk) => (output += chunk));
      const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null; at: number }>((resolve) =>
        child.on("close", (code, signal) => resolve({ code, signal, at: Date.now() })),
      );
      return { child, output: () => output, exited };
    },
  };
}

export interface RunningPod {
  child: ChildProcess;
  output: () => string;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null; at: number }>;
}

/** Polls a probe URL until it answers 200, within the budget the probe's settings allow. */
export async function waitForProbe(url: string, budgetMs: number, pod: RunningPod): Promise<void> {
  const deadline = Date.now() + budgetMs;
  for (;;) {
    if (pod.child.exitCode !== null)
      throw new Error(`exited with ${pod.child.exitCode} before ${url} answered:\n${pod.output()}`);
    const status = await fetch(url).then(
      (r) => r.status,
      () => 0,
    );
    if (status === 200) return;
    if (Date.now() > deadline)
      throw new Error(`${url} did not answer 200 within ${budgetMs}ms (last ${status}):\n${pod.output()}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}
