import { applyEvent, autoBlockReason, cutLatestMustName, deriveLedgerState, difusorState } from '../../src/ledger/rules.js';
import type { LedgerEvent } from '../../src/ledger/types.js';

// A small event builder: each step is one journal line, timestamps increase with the step.
let clock = 0;
const at = () => new Date(Date.UTC(2024, 5, 3, 2, 0, clock++)).toISOString();

const cut = (id: string): LedgerEvent => ({
  type: 'cut',
  at: at(),
  cut: id,
  cutTime: '2024-06-02T20:20:00-06:00',
  package: `PREP2024_MICH_${id}.tar.gz`,
  sha256: 'a'.repeat(64),
});
const delivered = (id: string, c: string, via: 'cut' | 'push' = 'cut'): LedgerEvent => ({
  type: 'outcome',
  at: at(),
  cut: c,
  id,
  outcome: 'delivered',
  code: null,
  message: null,
  via,
  seconds: 1.5,
  attempts: 1,
});
const failed = (id: string, c: string, via: 'cut' | 'push' = 'cut'): LedgerEvent => ({
  type: 'outcome',
  at: at(),
  cut: c,
  id,
  outcome: 'failed',
  code: 'CONNECT_TIMEOUT',
  message: `${id}: connect timed out (cut ${c})`,
  via,
  seconds: 15,
  attempts: 2,
});
const skipped = (id: string, c: string, why: 'blocked' | 'disabled'): LedgerEvent => ({
  type: 'outcome',
  at: at(),
  cut: c,
  id,
  outcome: 'skipped',
  code: why,
  message: null,
  via: 'cut',
  seconds: 0,
  attempts: 0,
});
const block = (id: string, reason: string, by: 'auto' | 'manual' = 'manual'): LedgerEvent => ({
  type: 'block',
  at: at(),
  id,
  reason,
  by,
});
const unblock = (id: string): LedgerEvent => ({ type: 'unblock', at: at(), id });

/** A cut that a difusor received or missed, as the `cut` command journals it. */
const cutThen = (c: string, outcome: (c: string) => LedgerEvent): LedgerEvent[] => [cut(c), outcome(c)];

const C1 = '20240602_2000';
const C2 = '20240602_2015';
const C3 = '20240602_2030';
const C4 = '20240602_2045';
const N = 3;

interface Case {
  name: string;
  events: LedgerEvent[];
  count: number;
  missed: string[];
  lastDelivered: string | null;
  blocked: 'auto' | 'manual' | null;
  /** What autoBlockReason says after the events. */
  reason: string | null;
}

const cases: Case[] = [
  {
    name: '3 consecutive failures → auto-block reason',
    events: [C1, C2, C3].flatMap((c) => cutThen(c, (x) => failed('sol', x))),
    count: 3,
    missed: [C1, C2, C3],
    lastDelivered: null,
    blocked: null,
    reason: 'auto: missed 3 consecutive cuts',
  },
  {
    name: '2 failures then a delivery → 0',
    events: [...cutThen(C1, (x) => failed('sol', x)), ...cutThen(C2, (x) => failed('sol', x)), ...cutThen(C3, (x) => delivered('sol', x))],
    count: 0,
    missed: [],
    lastDelivered: C3,
    blocked: null,
    reason: null,
  },
  {
    name: 'a late manual re-push of the latest cut, between cuts → reset',
    events: [...cutThen(C1, (x) => failed('sol', x)), ...cutThen(C2, (x) => failed('sol', x)), delivered('sol', C2, 'push')],
    count: 0,
    missed: [],
    lastDelivered: C2,
    blocked: null,
    reason: null,
  },
  {
    name: 'a late push of an OLDER cut → no reset',
    events: [...cutThen(C1, (x) => failed('sol', x)), ...cutThen(C2, (x) => failed('sol', x)), delivered('sol', C1, 'push')],
    count: 2,
    missed: [C1, C2],
    lastDelivered: C1,
    blocked: null,
    reason: null,
  },
  {
    name: 'the same cut failing twice (cut, then push) counts once',
    events: [...cutThen(C1, (x) => failed('sol', x)), failed('sol', C1, 'push'), ...cutThen(C2, (x) => failed('sol', x))],
    count: 2,
    missed: [C1, C2],
    lastDelivered: null,
    blocked: null,
    reason: null,
  },
  {
    name: 'a failed re-push of a cut already delivered is not a miss',
    events: [...cutThen(C1, (x) => delivered('sol', x)), failed('sol', C1, 'push')],
    count: 0,
    missed: [],
    lastDelivered: C1,
    blocked: null,
    reason: null,
  },
  {
    name: 'a failed push of an older cut after a newer delivery is not a miss',
    events: [...cutThen(C1, (x) => failed('sol', x)), ...cutThen(C2, (x) => delivered('sol', x)), failed('sol', C1, 'push')],
    count: 0,
    missed: [],
    lastDelivered: C2,
    blocked: null,
    reason: null,
  },
  {
    name: 'disabled (skipped) is not counted',
    events: [...cutThen(C1, (x) => failed('sol', x)), ...cutThen(C2, (x) => skipped('sol', x, 'disabled')), ...cutThen(C3, (x) => failed('sol', x))],
    count: 2,
    missed: [C1, C3],
    lastDelivered: null,
    blocked: null,
    reason: null,
  },
  {
    name: 'blocked (skipped) is not counted, and autoBlockReason stays null while blocked',
    events: [
      ...[C1, C2, C3].flatMap((c) => cutThen(c, (x) => failed('sol', x))),
      block('sol', 'auto: missed 3 consecutive cuts', 'auto'),
      ...cutThen(C4, (x) => skipped('sol', x, 'blocked')),
    ],
    count: 3,
    missed: [C1, C2, C3],
    lastDelivered: null,
    blocked: 'auto',
    reason: null,
  },
  {
    name: 'unblock then one failure → count 1, not re-blocked',
    events: [
      ...[C1, C2, C3].flatMap((c) => cutThen(c, (x) => failed('sol', x))),
      block('sol', 'auto: missed 3 consecutive cuts', 'auto'),
      unblock('sol'),
      ...cutThen(C4, (x) => failed('sol', x)),
    ],
    count: 1,
    missed: [C4],
    lastDelivered: null,
    blocked: null,
    reason: null,
  },
  {
    name: 'unblock then a re-push of an already counted cut failing → counts again from zero',
    events: [
      ...[C1, C2, C3].flatMap((c) => cutThen(c, (x) => failed('sol', x))),
      block('sol', 'auto: missed 3 consecutive cuts', 'auto'),
      unblock('sol'),
      failed('sol', C3, 'push'),
    ],
    count: 1,
    missed: [C3],
    lastDelivered: null,
    blocked: null,
    reason: null,
  },
  {
    name: 'a manual block keeps the counts',
    events: [...cutThen(C1, (x) => failed('sol', x)), ...cutThen(C2, (x) => failed('sol', x)), block('sol', 'server moved')],
    count: 2,
    missed: [C1, C2],
    lastDelivered: null,
    blocked: 'manual',
    reason: null,
  },
  {
    name: 'the latest cut comes from outcomes too (a push journaled without its cut line)',
    events: [...cutThen(C1, (x) => failed('sol', x)), failed('sol', C2, 'push'), delivered('sol', C1, 'push')],
    count: 2,
    missed: [C1, C2],
    lastDelivered: C1,
    blocked: null,
    reason: null,
  },
  {
    name: 'other difusores’ events do not touch this one',
    events: [C1, C2, C3].flatMap((c) => [cut(c), failed('luna', c), delivered('sol', c)]),
    count: 0,
    missed: [],
    lastDelivered: C3,
    blocked: null,
    reason: null,
  },
];

describe('ledger rules', () => {
  test.each(cases)('$name', ({ events, count, missed, lastDelivered, blocked, reason }) => {
    const state = deriveLedgerState(events);
    const sol = difusorState(state, 'sol');
    expect(sol.consecutiveMisses).toBe(count);
    expect(sol.missedCuts).toEqual(missed);
    expect(sol.lastDeliveredCut).toBe(lastDelivered);
    expect(sol.blocked?.by ?? null).toBe(blocked);
    expect(autoBlockReason(sol, N)).toBe(reason);
  });

  test('latestCut is the largest cut id seen, whatever the order', () => {
    const state = deriveLedgerState([cut(C2), failed('sol', C3, 'push'), cut(C1)]);
    expect(state.latestCut).toBe(C3);
  });

  test('lastError records the newest failure, and survives a later delivery', () => {
    const state = deriveLedgerState([...cutThen(C1, (x) => failed('sol', x)), ...cutThen(C2, (x) => delivered('sol', x))]);
    const sol = difusorState(state, 'sol');
    expect(sol.lastError).toMatchObject({ cut: C1, code: 'CONNECT_TIMEOUT', message: `sol: connect timed out (cut ${C1})` });
  });

  test('a block records its reason, time and author; unblock clears block and count', () => {
    const blockEvent = block('sol', 'server moved');
    const blockedState = deriveLedgerState([...cutThen(C1, (x) => failed('sol', x)), blockEvent]);
    expect(difusorState(blockedState, 'sol').blocked).toEqual({ reason: 'server moved', at: blockEvent.at, by: 'manual' });
    const after = applyEvent(blockedState, unblock('sol'));
    expect(difusorState(after, 'sol')).toMatchObject({ blocked: null, missedCuts: [], consecutiveMisses: 0 });
  });

  test('an unknown difusor is fresh, and asking for it does not add it', () => {
    const state = deriveLedgerState([cut(C1)]);
    expect(difusorState(state, 'nuevo')).toEqual({
      id: 'nuevo',
      missedCuts: [],
      consecutiveMisses: 0,
      lastDeliveredCut: null,
      deliveredCuts: [],
      lastError: null,
      blocked: null,
    });
    expect(state.difusores).toEqual({});
  });

  test('applyEvent does not mutate the state it is given', () => {
    const before = deriveLedgerState([...cutThen(C1, (x) => failed('sol', x))]);
    const snapshot = JSON.parse(JSON.stringify(before));
    applyEvent(before, failed('sol', C2));
    applyEvent(before, unblock('sol'));
    expect(before).toEqual(snapshot);
  });

  test.each([
    [undefined, 3, null],
    [{ misses: 2, blocked: false }, 3, null],
    [{ misses: 3, blocked: false }, 3, 'auto: missed 3 consecutive cuts'],
    [{ misses: 4, blocked: false }, 3, 'auto: missed 4 consecutive cuts'],
    [{ misses: 5, blocked: true }, 3, null],
    [{ misses: 0, blocked: false }, 0, null],
  ])('autoBlockReason(%j, %d) is %j', (shape, threshold, expected) => {
    const state =
      shape === undefined
        ? undefined
        : {
            ...difusorState(deriveLedgerState([]), 'sol'),
            consecutiveMisses: shape.misses,
            missedCuts: Array.from({ length: shape.misses }, (_, i) => `20240602_20${String(i).padStart(2, '0')}`),
            blocked: shape.blocked ? { reason: 'x', at: at(), by: 'manual' as const } : null,
          };
    expect(autoBlockReason(state, threshold)).toBe(expected);
  });
});

describe('retract: a cut published by mistake counts for nobody', () => {
  const retract = (c: string): LedgerEvent => ({ type: 'retract', at: at(), cut: c, reason: 'wrong year in --cut' });
  const TYPO = '20271125_1730';

  test('it stops being the newest: LATEST must name the newest cut not withdrawn', () => {
    const before = deriveLedgerState([cut(C1), delivered('sol', C1), cut(TYPO), delivered('sol', TYPO)]);
    expect(cutLatestMustName(before)).toBe(TYPO);
    const after = applyEvent(before, retract(TYPO));
    expect([after.latestCut, cutLatestMustName(after)]).toEqual([C1, C1]);
    expect(after.withdrawn[TYPO]).toMatchObject({ reason: 'wrong year in --cut' });
  });

  test('last delivered falls back to the previous delivered cut, and a later delivery of it changes nothing', () => {
    const state = deriveLedgerState([cut(C1), delivered('sol', C1), cut(TYPO), delivered('sol', TYPO), retract(TYPO), delivered('sol', TYPO, 'push')]);
    expect(difusorState(state, 'sol').lastDeliveredCut).toBe(C1);
  });

  test('its misses are forgiven, before and after the retract; its error no longer shows', () => {
    const state = deriveLedgerState([
      cut(C1), failed('sol', C1),
      cut(TYPO), failed('sol', TYPO),
      retract(TYPO),
      failed('sol', TYPO, 'push'),
    ]);
    expect(difusorState(state, 'sol')).toMatchObject({ missedCuts: [C1], consecutiveMisses: 1 });
    expect(difusorState(state, 'sol').lastError).toBeNull();
  });

  test('after a retract, delivering the newest cut not withdrawn clears the misses', () => {
    const state = deriveLedgerState([cut(C1), delivered('sol', C1), cut(TYPO), failed('sol', TYPO), retract(TYPO), delivered('sol', C1, 'push')]);
    expect(difusorState(state, 'sol')).toMatchObject({ consecutiveMisses: 0, lastDeliveredCut: C1 });
  });

  test('a cut newer than the withdrawn one is the newest again', () => {
    const state = deriveLedgerState([cut(C1), cut(TYPO), retract(TYPO), cut('20281125_1730')]);
    expect(cutLatestMustName(state)).toBe('20281125_1730');
  });
});
