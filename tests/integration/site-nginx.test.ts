// A real nginx serves a difusor's REMOTE_DIR/current while prep-push switches it between cuts:
// readers looping over the site never see a 404 or a 5xx, and every body is one cut's whole file;
// with all releases kept, and with old releases recycled into new ones (keep_releases 2).
import { chmod, mkdir, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { systemClock } from '../../src/core/clock.js';
import { parseCutTime } from '../../src/core/cut.js';
import { runCut } from '../../src/cut/run.js';
import { ssh2Transport } from '../../src/sftp/connect.js';
import { loadRegistry } from '../../src/registry/validate.js';
import { nginxUnavailableReason, startNginx, type NginxFixture } from '../helpers/nginx.js';
import { registryYamlFor, startSshd, type SshdFixture } from '../helpers/sshd.js';
import { makeWorkspace, type Workspace } from '../helpers/workspace.js';

const LONG = 180_000;
const SWITCHES = 6;
const READERS = 4;
const PATHS = ['index.html', 'json/main.json', 'json/d0/0.json', 'json/d5/13.json', 'json/d7/47.json'];
const deps = { clock: systemClock, env: {}, transport: ssh2Transport };

let sshd: SshdFixture;
let nginx: NginxFixture;
let ws: Workspace;
const unavailable = nginxUnavailableReason();

/** Each file names its cut and is padded so a torn read would show: `<cut>:<path>:` then 20 KB of the cut id. */
function bodyOf(cutId: string, file: string): string {
  return `${cutId}:${file}:${cutId.repeat(1500)}\n`;
}

async function writeSite(dir: string, cutId: string): Promise<void> {
  await rm(dir, { recursive: true, force: true });
  for (let i = 0; i < 60; i += 1) {
    const rel = `json/d${i % 8}/${i}.json`;
    await mkdir(path.dirname(path.join(dir, rel)), { recursive: true });
    await writeFile(path.join(dir, rel), bodyOf(cutId, rel));
  }
  await writeFile(path.join(dir, 'index.html'), bodyOf(cutId, 'index.html'));
  await writeFile(path.join(dir, 'json', 'main.json'), bodyOf(cutId, 'json/main.json'));
}

beforeAll(async () => {
  if (unavailable) return;
  sshd = await startSshd({ accounts: [{ id: 'web' }] });
  ws = await makeWorkspace();
  // nginx's workers run as an unprivileged user: let them through the fixture's private temp dirs.
  for (let dir = sshd.accounts.web.dir; dir !== path.dirname(dir) && dir !== tmpdir(); dir = path.dirname(dir)) {
    await chmod(dir, (await stat(dir)).mode | 0o055);
  }
  nginx = await startNginx({ root: path.join(sshd.accounts.web.dir, 'current') });
}, LONG);
afterAll(async () => {
  await nginx?.stop();
  await sshd?.stop();
  await ws?.remove();
});

// Keeping all releases, every cut is a new tree; with keep_releases 2 (run second, so the releases
// of the first run are there to recycle) each cut turns an old release into the new one.
(unavailable ? test.skip : test).each([
  { keep: 0, hour: 20, mode: 'link+rename' },
  { keep: 2, hour: 21, mode: 'recycle+rename' },
])('keep_releases $keep ($mode): no 404, no 5xx and no body from a mix of cuts while current switches', async ({ keep, hour, mode }) => {
  await ws.writeRegistry(`${registryYamlFor(sshd, ['web'], { difusores: { web: { delivery: 'site' } } })}publish:\n  keep_releases: ${keep}\n`);
  const registry = await loadRegistry(ws.registryFile, { env: {} });
  const source = path.join(ws.dir, 'sitio');
  const timeOf = (n: number) => `2024-06-02T${hour}:${String(n * 5).padStart(2, '0')}:00-06:00`;
  const cutAt = async (n: number) => {
    const cut = parseCutTime(timeOf(n), registry.timezone, Date.now);
    await writeSite(source, cut.id);
    const report = await runCut({ registry, stateDir: ws.stateDir, sourceDir: source, cut }, deps);
    expect(report.results[0]).toMatchObject({ outcome: 'delivered', publish: { mode } });
    return cut.id;
  };
  const published = new Set<string>([await cutAt(0)]);

  let reading = true;
  const problems: string[] = [];
  const seen = new Map<string, number>();
  let responses = 0;
  const reader = async (offset: number) => {
    for (let i = offset; reading; i += 1) {
      const file = PATHS[i % PATHS.length];
      const response = await fetch(`${nginx.url}${file}`);
      const body = await response.text();
      responses += 1;
      if (response.status !== 200) {
        problems.push(`${file}: HTTP ${response.status}`);
        continue;
      }
      const cutId = body.slice(0, 13);
      if (!published.has(cutId) || body !== bodyOf(cutId, file)) problems.push(`${file}: a body that is not one cut's whole file (${body.slice(0, 40)}…)`);
      seen.set(cutId, (seen.get(cutId) ?? 0) + 1);
    }
  };
  const readers = Array.from({ length: READERS }, (_, i) => reader(i));
  try {
    for (let n = 1; n <= SWITCHES; n += 1) {
      // Known before the switch can happen, so a reader never sees a cut it does not know.
      const next = parseCutTime(timeOf(n), registry.timezone, Date.now).id;
      published.add(next);
      await cutAt(n);
    }
    await new Promise((resolve) => setTimeout(resolve, 200));
  } finally {
    reading = false;
    await Promise.all(readers);
  }
  expect(problems).toEqual([]);
  expect(responses).toBeGreaterThan(SWITCHES * 10);
  // The readers did see the site change under them, several cuts over.
  expect(seen.size).toBeGreaterThanOrEqual(3);
}, LONG);
