// `prep-push demo` on a terminal: its web servers stay up after the night, serving the notice, the
// official list and the report, until Ctrl-C (the signal aborts); then they are closed.
import { runDemo } from '../../src/cli/demo/demo.js';
import { makeStyle } from '../../src/cli/render.js';
import { systemClock } from '../../src/core/clock.js';

test('the web servers stay up until the signal, then close', async () => {
  const lines: string[] = [];
  const controller = new AbortController();
  let resolveWaiting: () => void;
  const waiting = new Promise<void>((resolve) => (resolveWaiting = resolve));
  const demo = runDemo({
    keep: false,
    wait: true,
    signal: controller.signal,
    clock: systemClock,
    env: {},
    style: makeStyle(false),
    print: (text) => {
      lines.push(...([] as string[]).concat(text));
      if (lines.some((l) => l.includes('Press Ctrl-C to end the demo'))) resolveWaiting();
    },
  });
  await waiting;
  const text = lines.join('\n').replace(/\n +/g, ' ');
  const portal = /la-voz's portal \(the notice\): +(http:\/\/127\.0\.0\.1:\d+\/)/.exec(text)![1];
  const list = /the official list of difusores: +(http:\/\/127\.0\.0\.1:\d+\/publico\/difusores\.html)/.exec(text)![1];
  const memoria = /the incident report \(memoria\): +(http:\/\/127\.0\.0\.1:\d+\/memoria\.html)/.exec(text)![1];
  // The demo is done, and still serves: the notice (also on a deep link), the list with its logos, the report.
  expect(await (await fetch(portal)).text()).toContain('ya no es un difusor válido');
  expect(await (await fetch(`${portal}json/main.json`)).json()).toMatchObject({ difusor_valido: false });
  const page = await (await fetch(list)).text();
  expect(page).toContain('<img src="logos/el-sol.svg" alt="El Sol de Morelia"');
  expect((await fetch(new URL('logos/el-sol.svg', list))).headers.get('content-type')).toBe('image/svg+xml');
  expect((await fetch(memoria)).status).toBe(200);

  controller.abort();
  expect(await demo).toEqual({ exitCode: 0 });
  expect(lines[lines.length - 1]).toBe('demo: web servers closed.');
  await expect(fetch(list)).rejects.toThrow();
}, 120_000);
