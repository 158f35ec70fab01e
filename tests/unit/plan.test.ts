import { PrepPushError } from '../../src/core/errors.js';
import { difusoresHoldingCut, planTargets } from '../../src/cut/plan.js';
import { exitCodeOfRun } from '../../src/cut/report.js';
import type { ReportResult } from '../../src/cut/report.js';
import type { LedgerEvent } from '../../src/ledger/types.js';
import { aDifusor, aLedger } from '../helpers/builders.js';

const blockedA = aLedger([{ id: 'a', blocked: { reason: 'auto: missed 3 consecutive cuts', at: '2024-06-02T03:00:00Z', by: 'auto' } }]);
const difusores = [aDifusor('a'), aDifusor('b'), aDifusor('c', { enabled: false }), aDifusor('d')];

describe('planTargets', () => {
  test.each([
    {
      name: 'everyone active is targeted; disabled and blocked are skipped with their reason',
      ledger: blockedA,
      selection: {},
      targets: ['b', 'd'],
      skipped: [
        ['a', 'blocked'],
        ['c', 'disabled'],
      ],
    },
    {
      name: '--only narrows the targets; the rest are not selected',
      ledger: aLedger([]),
      selection: { only: ['d', 'b'] },
      targets: ['b', 'd'],
      skipped: [
        ['a', 'not-selected'],
        ['c', 'not-selected'],
      ],
    },
    {
      name: '--only on a blocked difusor does not push to it: unblock first',
      ledger: blockedA,
      selection: { only: ['a'] },
      targets: [],
      skipped: [
        ['a', 'blocked'],
        ['b', 'not-selected'],
        ['c', 'not-selected'],
        ['d', 'not-selected'],
      ],
    },
    {
      name: '--only on a disabled difusor skips it as disabled',
      ledger: aLedger([]),
      selection: { only: ['c'] },
      targets: [],
      skipped: [
        ['a', 'not-selected'],
        ['b', 'not-selected'],
        ['c', 'disabled'],
        ['d', 'not-selected'],
      ],
    },
  ])('$name', ({ ledger, selection, targets, skipped }) => {
    const plan = planTargets(difusores, ledger, selection);
    expect(plan.targets.map((d) => d.id)).toEqual(targets);
    expect(plan.skipped.map((k) => [k.id, k.reason])).toEqual(skipped);
  });

  test('the blocked skip tells the operator how to resume', () => {
    const plan = planTargets(difusores, blockedA, {});
    expect(plan.skipped[0].detail).toBe(
      'blocked since 2024-06-02T03:00:00Z (auto: missed 3 consecutive cuts); run `prep-push unblock a` to resume',
    );
    // With the registry's timezone, the time is local with its offset, as every cut time is.
    expect(planTargets(difusores, blockedA, { timeZone: 'America/Mexico_City' }).skipped[0].detail).toMatch(/^blocked since 2024-06-01T21:00:00-06:00 /);
  });

  test('--failed targets exactly the active difusores that do not hold the cut', () => {
    const events: LedgerEvent[] = [
      { type: 'outcome', at: 't', cut: '20240602_2020', id: 'a', outcome: 'failed', code: 'CONNECT_TIMEOUT', message: 'm', via: 'cut', seconds: 1, attempts: 2 },
      { type: 'outcome', at: 't', cut: '20240602_2020', id: 'b', outcome: 'delivered', code: null, message: null, via: 'cut', seconds: 1, attempts: 1 },
      { type: 'outcome', at: 't', cut: '20240602_2000', id: 'd', outcome: 'delivered', code: null, message: null, via: 'cut', seconds: 1, attempts: 1 },
    ];
    const holding = difusoresHoldingCut(events, '20240602_2020');
    expect([...holding]).toEqual(['b']);
    const plan = planTargets(difusores, aLedger([]), { missingCut: '20240602_2020' }, holding);
    expect(plan.targets.map((d) => d.id)).toEqual(['a', 'd']);
    expect(plan.skipped.map((k) => [k.id, k.reason])).toEqual([
      ['b', 'already-delivered'],
      ['c', 'disabled'],
    ]);
  });

  test('an unknown id in --only is a usage error naming it and the known ids', () => {
    expect(() => planTargets(difusores, aLedger([]), { only: ['b', 'zz', 'yy'] })).toThrow(
      new PrepPushError('usage', '--only: unknown difusor ids zz, yy'),
    );
    try {
      planTargets(difusores, aLedger([]), { only: ['zz'] });
      throw new Error('planTargets accepted an unknown id');
    } catch (error) {
      expect((error as PrepPushError).exitCode).toBe(2);
      expect((error as PrepPushError).hint).toBe('known ids: a, b, c, d');
    }
  });
});

describe('exitCodeOfRun', () => {
  const r = (outcome: ReportResult['outcome']): ReportResult => ({ id: 'x', outcome, error: null, seconds: 0, attempts: 1, bytes: 0 });
  test.each([
    { results: [r('delivered'), r('skipped')], interrupted: false, not_started: [], newly_blocked: [], code: 0 },
    { results: [], interrupted: false, not_started: [], newly_blocked: [], code: 0 },
    { results: [r('delivered'), r('failed')], interrupted: false, not_started: [], newly_blocked: [], code: 1 },
    { results: [r('delivered')], interrupted: true, not_started: [], newly_blocked: [], code: 1 },
    { results: [r('delivered')], interrupted: false, not_started: ['b'], newly_blocked: [], code: 1 },
    // The block a killed run did not get to record: no failure in this run, but an operator must know.
    { results: [r('delivered'), r('skipped')], interrupted: false, not_started: [], newly_blocked: ['a'], code: 1 },
  ])('%# → $code', ({ code, ...report }) => {
    expect(exitCodeOfRun(report)).toBe(code);
  });
});

describe('difusoresHoldingCut after a retract', () => {
  const delivered = (id: string, cut: string): LedgerEvent => ({ type: 'outcome', at: 'x', cut, id, outcome: 'delivered', code: null, message: null, via: 'cut', seconds: 1, attempts: 1 });
  test('a difusor whose LATEST still names a withdrawn newer cut does not hold the cut until it gets it again', () => {
    const events: LedgerEvent[] = [
      delivered('a', '20240602_2000'),
      delivered('b', '20240602_2000'),
      delivered('a', '20250602_2000'),
      { type: 'retract', at: 'x', cut: '20250602_2000', reason: 'typo' },
    ];
    expect([...difusoresHoldingCut(events, '20240602_2000')]).toEqual(['b']);
    expect([...difusoresHoldingCut([...events, delivered('a', '20240602_2000')], '20240602_2000')].sort()).toEqual(['a', 'b']);
  });
});
