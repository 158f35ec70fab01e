// The public list on a real disk: both files written atomically, left alone when nothing changed,
// rewritten when a state changes or a file is missing or edited, an unwritable folder reported as a
// value; and the page rendered by headless Chromium: Spanish, a real table, the suspended difusor unlinked.
import { execFile } from 'node:child_process';
import { mkdtemp, readdir, readFile, rm, stat, unlink, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { aDifusor, aLedger, aRegistry } from '../helpers/builders.js';
import { renderInChromium } from '../helpers/chromium.js';
import { layoutAtWidth } from '../helpers/page-width.js';
import { PNG_LOGO, svgLogo } from '../helpers/logos.js';
import { PUBLIC_HTML, PUBLIC_JSON, syncPublicList } from '../../src/public/write.js';

const run = promisify(execFile);
let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'prep-push-public-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

const difusores = [
  aDifusor('el-sol', { name: 'El Sol de Morelia', url: 'https://elsol.example/prep/' }),
  aDifusor('la-voz', { name: 'La Voz de Michoacán', url: 'https://lavoz.example/prep/' }),
  aDifusor('apagado', { name: 'Apagado', enabled: false }),
];
const registryIn = (folder: string) => aRegistry(difusores, { instituteName: 'Instituto Electoral de Michoacán', publicList: { dir: folder } });
const allActive = aLedger([]);
const laVozBlocked = aLedger([{ id: 'la-voz', blocked: { reason: 'auto: missed 3 consecutive cuts', at: '2024-06-03T03:00:00Z', by: 'auto' } }]);

test('written, then left byte for byte alone, then rewritten on a change of state, a missing or an edited file', async () => {
  const folder = path.join(dir, 'publico');
  const registry = registryIn(folder);
  expect(await syncPublicList(registry, allActive, '2024-06-03T02:00:00.000Z')).toEqual({ written: true, dir: folder, error: null });
  const json = JSON.parse(await readFile(path.join(folder, PUBLIC_JSON), 'utf8'));
  expect(json).toEqual({
    institute: 'Instituto Electoral de Michoacán',
    updated: '2024-06-03T02:00:00.000Z',
    difusores: [
      { id: 'el-sol', name: 'El Sol de Morelia', url: 'https://elsol.example/prep/', state: 'active', link: 'https://elsol.example/prep/', logo: null },
      { id: 'la-voz', name: 'La Voz de Michoacán', url: 'https://lavoz.example/prep/', state: 'active', link: 'https://lavoz.example/prep/', logo: null },
    ],
  });
  const before = await stat(path.join(folder, PUBLIC_HTML));

  expect(await syncPublicList(registry, allActive, '2024-06-03T02:20:00.000Z')).toEqual({ written: false, dir: folder, error: null });
  expect((await stat(path.join(folder, PUBLIC_HTML))).mtimeMs).toBe(before.mtimeMs);

  expect((await syncPublicList(registry, laVozBlocked, '2024-06-03T03:00:00.000Z'))?.written).toBe(true);
  const blocked = JSON.parse(await readFile(path.join(folder, PUBLIC_JSON), 'utf8'));
  expect(blocked.updated).toBe('2024-06-03T03:00:00.000Z');
  expect(blocked.difusores[1]).toMatchObject({ state: 'blocked', link: null });

  await unlink(path.join(folder, PUBLIC_HTML));
  expect((await syncPublicList(registry, laVozBlocked, '2024-06-03T03:20:00.000Z'))?.written).toBe(true);
  await writeFile(path.join(folder, PUBLIC_JSON), '{"edited": true}');
  expect((await syncPublicList(registry, laVozBlocked, '2024-06-03T03:40:00.000Z'))?.written).toBe(true);
  expect(JSON.parse(await readFile(path.join(folder, PUBLIC_JSON), 'utf8')).difusores).toHaveLength(2);
  expect((await readdir(folder)).sort()).toEqual([PUBLIC_HTML, PUBLIC_JSON]); // no temporary file left
});

test('a reader never sees half a file while the list is rewritten over and over', async () => {
  const folder = path.join(dir, 'concurrente');
  const registry = registryIn(folder);
  await syncPublicList(registry, allActive, '2024-06-03T02:00:00.000Z');
  let writing = true;
  let reads = 0;
  const reader = (async () => {
    while (writing) {
      const text = await readFile(path.join(folder, PUBLIC_JSON), 'utf8');
      expect(() => JSON.parse(text)).not.toThrow();
      reads += 1;
    }
  })();
  for (let i = 0; i < 100; i += 1) {
    await syncPublicList(registry, i % 2 ? allActive : laVozBlocked, new Date(Date.UTC(2024, 5, 3, 2, i)).toISOString());
  }
  writing = false;
  await reader;
  expect(reads).toBeGreaterThan(0);
});

test('a folder that cannot be written is a reported value, not a throw', async () => {
  const file = path.join(dir, 'un-archivo');
  await writeFile(file, 'x');
  const folder = path.join(file, 'publico'); // a regular file as parent: ENOTDIR even for root
  const result = await syncPublicList(registryIn(folder), allActive, '2024-06-03T02:00:00.000Z');
  expect(result).toMatchObject({ written: false, dir: folder });
  expect(result?.error).toMatch(/could not write the public list in .*publico \(ENOTDIR\)/);
});

test('headless Chromium renders the page: Spanish, a table with headings, active linked, suspended without a link', async () => {
  const folder = path.join(dir, 'chromium');
  await syncPublicList(registryIn(folder), laVozBlocked, '2024-06-03T03:00:00.000Z');
  const { stdout } = await run(
    'chromium',
    ['--headless', '--no-sandbox', '--disable-gpu', '--user-data-dir=' + path.join(dir, 'chromium-profile'), '--dump-dom', `file://${path.join(folder, PUBLIC_HTML)}`],
    { timeout: 90_000 },
  );
  // The DOM as Chromium parsed it (not our text): a malformed table would come back restructured.
  expect(stdout).toMatch(/<html lang="es">/);
  expect(stdout).toContain('<caption>Difusores del Programa de Resultados Electorales Preliminares y su estado</caption>');
  expect(stdout.match(/<th scope="col">/g)).toHaveLength(3);
  const rows = stdout.match(/<tr class="[a-z]+">.*?<\/tr>/g) ?? [];
  expect(rows).toHaveLength(2);
  expect(rows[0]).toContain('<a href="https://elsol.example/prep/">');
  expect(rows[1]).toContain('La Voz de Michoacán');
  expect(rows[1]).toContain('Suspendido');
  expect(rows[1]).not.toContain('<a');
  expect(stdout).not.toContain('Apagado');
}, 120_000);

describe('logos and the blocked ones', () => {
  const withLogos = (folder: string, blocked?: 'suspend' | 'remove') =>
    aRegistry(
      [
        aDifusor('el-sol', { name: 'El Sol de Morelia', url: 'https://elsol.example/prep/', logo: path.join(dir, 'sol.png') }),
        aDifusor('la-voz', { name: 'La Voz de Michoacán', url: 'https://lavoz.example/prep/', logo: path.join(dir, 'voz.svg') }),
        aDifusor('radio', { name: 'Radio Universidad Michoacana de San Nicolás de Hidalgo', url: 'https://radio.universidad-michoacana.example/resultados-preliminares/prep-2024/' }),
      ],
      { instituteName: 'Instituto Electoral de Michoacán', publicList: { dir: folder, ...(blocked ? { blocked } : {}) } },
    );
  beforeAll(async () => {
    await writeFile(path.join(dir, 'sol.png'), PNG_LOGO);
    await writeFile(path.join(dir, 'voz.svg'), svgLogo('La Voz'));
  });

  test('copied to logos/, named in the JSON, the logo is the link with the name as alt; a suspended one unlinked', async () => {
    const folder = path.join(dir, 'con-logos');
    await syncPublicList(withLogos(folder), laVozBlocked, '2024-06-03T03:00:00.000Z');
    expect((await readdir(path.join(folder, 'logos'))).sort()).toEqual(['el-sol.png', 'la-voz.svg']);
    expect(await readFile(path.join(folder, 'logos', 'el-sol.png'))).toEqual(PNG_LOGO);
    const json = JSON.parse(await readFile(path.join(folder, PUBLIC_JSON), 'utf8'));
    expect(json.difusores.map((d: { id: string; link: string | null; logo: string | null }) => [d.id, d.link, d.logo])).toEqual([
      ['el-sol', 'https://elsol.example/prep/', 'logos/el-sol.png'],
      ['la-voz', null, 'logos/la-voz.svg'],
      ['radio', 'https://radio.universidad-michoacana.example/resultados-preliminares/prep-2024/', null],
    ]);
    const html = await readFile(path.join(folder, PUBLIC_HTML), 'utf8');
    expect(html).toContain('<a class="logo" href="https://elsol.example/prep/"><img src="logos/el-sol.png" alt="El Sol de Morelia"');
    // The SVG goes through <img> only (scripts never run there), never inlined.
    expect(html).toContain('<span class="logo"><img src="logos/la-voz.svg" alt="La Voz de Michoacán"');
    expect(html).not.toContain('<svg');
    expect(html).toContain('Actualizado el 2 de junio de 2024 a las 21:00 (hora del centro de México, UTC−06:00).');
    // Nothing changed: nothing rewritten; a logo edited on disk: rewritten.
    expect((await syncPublicList(withLogos(folder), laVozBlocked, '2024-06-03T03:20:00.000Z'))?.written).toBe(false);
    await writeFile(path.join(folder, 'logos', 'el-sol.png'), 'edited');
    expect((await syncPublicList(withLogos(folder), laVozBlocked, '2024-06-03T03:40:00.000Z'))?.written).toBe(true);
    expect(await readFile(path.join(folder, 'logos', 'el-sol.png'))).toEqual(PNG_LOGO);
  });

  test('blocked: remove leaves a blocked difusor out of both files, and its logo out of logos/', async () => {
    const folder = path.join(dir, 'remove');
    await syncPublicList(withLogos(folder, 'remove'), allActive, '2024-06-03T02:00:00.000Z');
    expect((await readdir(path.join(folder, 'logos'))).sort()).toEqual(['el-sol.png', 'la-voz.svg']);
    await syncPublicList(withLogos(folder, 'remove'), laVozBlocked, '2024-06-03T03:00:00.000Z');
    const json = JSON.parse(await readFile(path.join(folder, PUBLIC_JSON), 'utf8'));
    expect(json.difusores.map((d: { id: string }) => d.id)).toEqual(['el-sol', 'radio']);
    const html = await readFile(path.join(folder, PUBLIC_HTML), 'utf8');
    expect(html).not.toContain('La Voz');
    expect(html).not.toContain('Suspendido');
    expect(await readdir(path.join(folder, 'logos'))).toEqual(['el-sol.png']);
  });

  test('a logo swapped for something unfit since validate: listed without it, with a warning', async () => {
    const folder = path.join(dir, 'cambiado');
    await writeFile(path.join(dir, 'cambiado.svg'), '<svg onload="alert(1)"/>');
    const registry = aRegistry([aDifusor('el-sol', { name: 'El Sol', logo: path.join(dir, 'cambiado.svg') })], { publicList: { dir: folder } });
    const result = await syncPublicList(registry, allActive, '2024-06-03T02:00:00.000Z');
    expect(result?.warnings).toEqual([expect.stringMatching(/^the public list shows el-sol without its logo: logo .*cambiado\.svg is an SVG holding an event attribute/)]);
    expect(JSON.parse(await readFile(path.join(folder, PUBLIC_JSON), 'utf8')).difusores[0].logo).toBeNull();
  });

  test('headless Chromium at 390 px (a phone) and 1280 px: no horizontal scroll, every logo shown, nothing fetched', async () => {
    const folder = path.join(dir, 'movil');
    await syncPublicList(withLogos(folder), laVozBlocked, '2024-06-03T03:00:00.000Z');
    const page = path.join(folder, PUBLIC_HTML);
    for (const width of [390, 1280]) {
      const layout = await layoutAtWidth(page, width, 900);
      expect(layout.width).toBe(width);
      expect(layout.scroll).toBeLessThanOrEqual(layout.width);
      expect(layout.images).toEqual([true, true]);
    }
    const rendered = await renderInChromium(page, { width: 1280, height: 900 });
    expect(rendered.networkRequests).toEqual([]);
  }, 180_000);
});
