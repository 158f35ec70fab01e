import { cutAt } from '../../src/core/cut.js';
import { checkCutTime } from '../../src/cut/time-guard.js';
import { shouldReplaceLatest } from '../../src/delivery/modes/latest.js';
import { deriveLedgerState, EMPTY_LEDGER_STATE } from '../../src/ledger/rules.js';
import type { LedgerEvent } from '../../src/ledger/types.js';

const TZ = 'America/Mexico_City';
const NOW = Date.parse('2026-11-25T21:00:00Z'); // 15:00 in Mexico City
const minutes = (n: number) => n * 60000;
const cutEvent = (id: string): LedgerEvent => ({ type: 'cut', at: '2026-11-25T20:00:00.000Z', cut: id, cutTime: '', package: `P_${id}.tar.gz`, sha256: 'a'.repeat(64) });
const check = (offsetMs: number, opts: { allowFuture?: boolean; allowOlder?: boolean; maxFutureMinutes?: number } = {}) => ({
  cut: cutAt(NOW + offsetMs, TZ),
  nowMs: NOW,
  timeZone: TZ,
  maxFutureMinutes: opts.maxFutureMinutes,
  allowFuture: Boolean(opts.allowFuture),
  allowOlder: Boolean(opts.allowOlder),
});

describe('a cut time that would freeze the difusores is refused', () => {
  test('up to max_future_minutes ahead is accepted; beyond it is refused naming --allow-future', () => {
    expect(() => checkCutTime(check(minutes(10)), EMPTY_LEDGER_STATE)).not.toThrow();
    expect(() => checkCutTime(check(minutes(12)), EMPTY_LEDGER_STATE)).toThrow(/2 minutes ahead of this machine's clock \(now 2026-11-25T15:00:00-06:00; max_future_minutes is 10\)/);
    expect(() => checkCutTime(check(minutes(12)), EMPTY_LEDGER_STATE)).toThrow(expect.objectContaining({ kind: 'usage', hint: expect.stringMatching(/--allow-future/) }));
    expect(() => checkCutTime(check(minutes(12), { allowFuture: true }), EMPTY_LEDGER_STATE)).not.toThrow();
    expect(() => checkCutTime(check(minutes(3), { maxFutureMinutes: 0 }), EMPTY_LEDGER_STATE)).toThrow(/3 minutes ahead/);
  });

  test('the wrong year reads as days ahead', () => {
    expect(() => checkCutTime(check(minutes(365 * 24 * 60)), EMPTY_LEDGER_STATE)).toThrow(/cut 20271125_1500 .* is 365 days ahead/);
  });

  test('older than the newest cut is refused naming --allow-older; the same cut again is not', () => {
    const ledger = deriveLedgerState([cutEvent('20261125_1500')]);
    expect(() => checkCutTime(check(minutes(-20)), ledger)).toThrow(/cut 20261125_1440 is older than the newest cut in the ledger, 20261125_1500/);
    expect(() => checkCutTime(check(minutes(-20)), ledger)).toThrow(expect.objectContaining({ hint: expect.stringMatching(/--allow-older \(LATEST keeps naming 20261125_1500\)/) }));
    expect(() => checkCutTime(check(minutes(-20), { allowOlder: true }), ledger)).not.toThrow();
    expect(() => checkCutTime(check(0), ledger)).not.toThrow();
  });

  test('after a retract, the withdrawn cut is not the newest, and cannot be cut again', () => {
    const ledger = deriveLedgerState([
      cutEvent('20261125_1440'),
      cutEvent('20261125_1500'),
      { type: 'retract', at: '2026-11-25T21:01:00.000Z', cut: '20261125_1500', reason: 'typo' },
    ]);
    expect(() => checkCutTime(check(minutes(-10)), ledger)).not.toThrow();
    expect(() => checkCutTime(check(0), ledger)).toThrow(/cut 20261125_1500 was withdrawn at 2026-11-25T15:01:00-06:00 \(typo\)/);
  });
});

describe('LATEST', () => {
  test.each([
    [null, '20240602_2020', undefined, true],
    ['P_20240602_2000.tar.gz', '20240602_2020', undefined, true],
    ['P_20240602_2020.tar.gz', '20240602_2020', undefined, true],
    // An older cut (--allow-older, or a late re-push) leaves LATEST on the newest...
    ['P_20240602_2040.tar.gz', '20240602_2020', '20240602_2040', false],
    // ...except after a retract: then the cut LATEST must name moves it back.
    ['P_20271125_1730.tar.gz', '20240602_2020', '20240602_2020', true],
  ])('LATEST %s, delivering %s (must name %s): replace = %s', (current, cut, mustName, expected) => {
    expect(shouldReplaceLatest(current, cut, mustName)).toBe(expected);
  });
});
