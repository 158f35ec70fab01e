// `build --source DIR [--cut TIME|ID]`: the package into the store, its path and SHA-256 printed.
import path from 'node:path';
import { loadRegistryFor, resolveStateDir } from '../../commands/context.js';
import { parseCutTime } from '../../core/cut.js';
import { packageStoreDir } from '../../core/state-dir.js';
import { acquireLock } from '../../ledger/lock.js';
import { buildPackage } from '../../package/build-package.js';
import { packageSigningOptions } from '../../signing/load-signing-key.js';
import type { Action } from '../io.js';
import { renderPackage } from '../render-package.js';

export const run: Action = async ({ opts }, env) => {
  // build never connects: the login keys are checked by validate and by the commands that push.
  const registry = await loadRegistryFor(env.globals, env.ctx, { checkLoginKeys: false });
  const cut = parseCutTime(opts.cut as string | undefined, registry.timezone, env.ctx.clock.now);
  const stateDir = resolveStateDir(env.globals, registry, env.ctx.cwd);
  const lock = await acquireLock(stateDir, { command: 'build', timeZone: registry.timezone });
  try {
    const pkg = await buildPackage({
      sourceDir: path.resolve(env.ctx.cwd, opts.source as string),
      cut,
      institute: registry.institute,
      nameTemplate: registry.package.name,
      format: registry.package.format,
      storeDir: packageStoreDir(stateDir),
      ...(await packageSigningOptions(registry, env.ctx.env)),
    });
    env.out(renderPackage(pkg));
  } finally {
    await lock.release();
  }
  return 0;
};
