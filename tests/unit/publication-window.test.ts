// The publication window as a pure decision: refused before `from` unless a drill, warned after `until`
// (for a cut), nothing without a window.
import { checkPublicationWindow } from '../../src/cut/publication-window.js';

const window = { from: '2024-06-02T20:00:00-06:00', until: '2024-06-03T20:00:00-06:00' };
const at = (iso: string) => Date.parse(iso);
const check = (nowIso: string, command: 'cut' | 'push', drill = false, publication: typeof window | undefined = window) =>
  checkPublicationWindow({ publication, nowMs: at(nowIso), timeZone: 'America/Mexico_City', command, drill });

test.each<[string, string, 'cut' | 'push', boolean, 'refused' | 'warned' | 'ok']>([
  ['a cut a minute before from', '2024-06-02T19:59:00-06:00', 'cut', false, 'refused'],
  ['a push before from', '2024-06-02T19:00:00-06:00', 'push', false, 'refused'],
  ['a drill cut before from', '2024-05-26T10:00:00-06:00', 'cut', true, 'ok'],
  ['a drill push before from', '2024-05-26T10:00:00-06:00', 'push', true, 'ok'],
  ['a cut at from', '2024-06-02T20:00:00-06:00', 'cut', false, 'ok'],
  ['a cut inside the window', '2024-06-03T02:00:00-06:00', 'cut', false, 'ok'],
  ['a cut after until', '2024-06-03T20:20:00-06:00', 'cut', false, 'warned'],
  ['a push after until: the operator re-delivers, no warning', '2024-06-04T10:00:00-06:00', 'push', false, 'ok'],
])('%s', (_name, now, command, drill, verdict) => {
  let result: string | null | Error;
  try {
    result = check(now, command, drill);
  } catch (error) {
    result = error as Error;
  }
  const got = result instanceof Error ? 'refused' : result === null ? 'ok' : 'warned';
  expect(got).toBe(verdict);
});

test('the refusal names the window, the clock and --drill; exit 2', () => {
  expect(() => check('2024-06-02T19:40:00-06:00', 'cut')).toThrow(
    expect.objectContaining({
      exitCode: 2,
      message: 'cut: the publication window opens at 2024-06-02T20:00:00-06:00 (publication.from), 20 minutes from now (2024-06-02T19:40:00-06:00); results may not be published before then; nothing was built or pushed',
      hint: expect.stringContaining('add --drill'),
    }),
  );
});

test('no window, no rule', () => {
  expect(checkPublicationWindow({ publication: undefined, nowMs: at('1999-01-01T00:00:00-06:00'), timeZone: 'America/Mexico_City', command: 'cut', drill: false })).toBeNull();
});
