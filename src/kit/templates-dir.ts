// Finds the kit's template files on disk: next to this module when run from src/ (tests), or in
// src/kit/templates of the package when run from dist/ (the built binary, an installed package).
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { KIT_TEMPLATES } from './render-kit.js';

export function kitTemplatesDir(): string {
  const here = path.dirname(fileURLToPath(import.meta.url));
  const candidates = [path.join(here, 'templates'), path.resolve(here, '..', '..', '..', 'src', 'kit', 'templates')];
  const found = candidates.find((dir) => existsSync(path.join(dir, 'prep-apply.sh')));
  if (!found) throw new Error(`the kit templates are missing (looked in ${candidates.join(' and ')}); reinstall prep-push`);
  return found;
}

export async function readKitTemplates(): Promise<Map<string, string>> {
  const dir = kitTemplatesDir();
  const entries = await Promise.all(KIT_TEMPLATES.map(async (template) => [template, await readFile(path.join(dir, template), 'utf8')] as const));
  return new Map(entries);
}
