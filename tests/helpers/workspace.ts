// A throwaway working folder for a test: a registry file, a state dir, a copy of the fixture site.
import { cp, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
export const FIXTURE_SITE = path.join(REPO_ROOT, 'fixtures', 'prep-site');

export interface Workspace {
  dir: string;
  registryFile: string;
  stateDir: string;
  sourceDir: string;
  writeRegistry(yaml: string): Promise<void>;
  remove(): Promise<void>;
}

export async function makeWorkspace(prefix = 'prep-push-test-'): Promise<Workspace> {
  const dir = await mkdtemp(path.join(os.tmpdir(), prefix));
  const sourceDir = path.join(dir, 'publicacion');
  await cp(FIXTURE_SITE, sourceDir, { recursive: true });
  const registryFile = path.join(dir, 'difusores.yaml');
  return {
    dir,
    registryFile,
    stateDir: path.join(dir, 'state'),
    sourceDir,
    writeRegistry: (yaml) => writeFile(registryFile, yaml),
    remove: () => rm(dir, { recursive: true, force: true }),
  };
}
