#!/usr/bin/env node
// The `vigil` command inside the workspace: runs the TypeScript sources through tsx.
// The production artifact (`pnpm build`) has its own package.json whose bin is the bundle, dist/vigil.js.
import { register } from "tsx/esm/api";

register();
await import("../src/main.ts");
