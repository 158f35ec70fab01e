#!/usr/bin/env node
// Entry point: the compiled CLI lives in dist/ (built by `npm install` through the prepare script).
import { existsSync } from 'node:fs';

const entry = new URL('../dist/src/cli/main.js', import.meta.url);
if (!existsSync(entry)) {
  process.stderr.write('prep-push: not built yet: run `npm install` (or `npm run build`) in the prep-push folder\n');
  process.exitCode = 2;
} else {
  const { runAsProcess } = await import(entry.href);
  await runAsProcess();
}
