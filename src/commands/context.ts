// What every command starts from: the global flags, the registry they point at, the state dir.
import path from 'node:path';
import type { Clock } from '../core/clock.js';
import { loadRegistry } from '../registry/validate.js';
import type { Registry } from '../registry/types.js';

export interface GlobalOptions {
  /** `--config FILE`, as typed (for messages); default `difusores.yaml`. */
  config?: string;
  /** `--state-dir DIR`; default: the registry's `state_dir`, else `.prep-push/` next to the registry file. */
  stateDir?: string;
}

export interface CommandEnv {
  cwd: string;
  env: NodeJS.ProcessEnv;
  clock: Clock;
}

export function registryPaths(global: GlobalOptions, cwd: string): { file: string; displayPath: string } {
  const displayPath = global.config ?? 'difusores.yaml';
  return { file: path.resolve(cwd, displayPath), displayPath };
}

/** `checkLoginKeys: false` for a command that never connects (see RegistryDeps.checkLoginKeys). */
export async function loadRegistryFor(global: GlobalOptions, ctx: CommandEnv, options: { checkLoginKeys?: boolean } = {}): Promise<Registry> {
  const { file, displayPath } = registryPaths(global, ctx.cwd);
  return loadRegistry(file, { env: ctx.env, displayPath, ...options });
}

/**
 * The state dir: `--state-dir`, else the registry's `state_dir`, else `.prep-push/` in the registry
 * file's folder — never the current folder, so cron runs started anywhere share one ledger.
 */
export function resolveStateDir(global: GlobalOptions, registry: Registry, cwd: string): string {
  if (global.stateDir !== undefined) return path.resolve(cwd, global.stateDir);
  return registry.stateDir ?? path.join(path.dirname(registry.file), '.prep-push');
}

/** `--only a,b` → ['a', 'b'] (order kept, duplicates dropped). */
export function parseIdList(text: string | undefined): string[] | undefined {
  if (text === undefined) return undefined;
  const ids = [...new Set(text.split(',').map((s) => s.trim()).filter(Boolean))];
  return ids;
}
