// A whole election night as a journal, for the incident report's tests and pictures: 72 cuts every
// 10 minutes (20:00 to 07:50), three drill cuts the day before, a wrong-year cut withdrawn, a
// difusor blocked for 22 cuts with its notice, late deliveries by hand, a cut run with --only, audits
// every 5 minutes, notifications.
import type { LedgerEvent } from '../../src/ledger/types.js';
import type { ReportInput } from '../../src/report/model.js';

type Outcome = Extract<LedgerEvent, { type: 'outcome' }>;

export const NIGHT_DIFUSORES = [
  { id: 'el-sol', name: 'El Sol de Morelia', enabled: true },
  { id: 'la-voz', name: 'La Voz de Michoacán', enabled: true },
  { id: 'radio-uni', name: 'Radio Universidad Michoacana', enabled: true },
  { id: 'quadratin', name: 'Quadratín Michoacán', enabled: true },
  { id: 'tv-norte', name: 'TV Norte', enabled: false },
];

const START_MS = Date.parse('2024-06-02T20:00:00-06:00');
const MINUTE = 60_000;

/** Cut `i` of the night (0 = 20:00 of 2 June, local time −06:00). */
export function nightCut(i: number, startMs = START_MS): { id: string; time: string; ms: number } {
  const ms = startMs + i * 10 * MINUTE;
  const local = new Date(ms - 6 * 60 * MINUTE).toISOString(); // −06:00 wall time, written as if UTC
  const id = `${local.slice(0, 4)}${local.slice(5, 7)}${local.slice(8, 10)}_${local.slice(11, 13)}${local.slice(14, 16)}`;
  return { id, time: `${local.slice(0, 19)}-06:00`, ms };
}

const iso = (ms: number) => new Date(ms).toISOString();

/** The journal of the night, in time order. `cuts` defaults to 72. */
export function electionNight(cuts = 72): LedgerEvent[] {
  const events: Array<LedgerEvent & { sortMs: number }> = [];
  const add = (ms: number, e: LedgerEvent) => events.push({ ...e, sortMs: ms } as LedgerEvent & { sortMs: number });
  const cutEvent = (c: { id: string; time: string; ms: number }, drill = false) =>
    add(c.ms, { type: 'cut', at: iso(c.ms), cut: c.id, cutTime: c.time, package: `PREP2024_MICH_${c.id}.tar.gz`, sha256: 'ab'.repeat(32), ...(drill ? { drill: true } : {}) });
  const outcome = (c: { id: string; ms: number }, id: string, result: Outcome['outcome'], extra: Partial<Outcome> & { afterS?: number } = {}) => {
    const { afterS = 8 + (id.length % 5) * 3, ...rest } = extra;
    const ms = c.ms + afterS * 1000;
    add(ms, {
      type: 'outcome',
      at: iso(ms),
      cut: c.id,
      id,
      outcome: result,
      code: result === 'skipped' ? 'blocked' : null,
      message: null,
      via: 'cut',
      seconds: result === 'skipped' ? 0 : 2 + (id.length % 4) * 0.7,
      attempts: result === 'skipped' ? 0 : 1,
      ...rest,
    });
  };
  const fail = (c: { id: string; ms: number }, id: string, code: Outcome['code'], extra: Partial<Outcome> & { afterS?: number } = {}) =>
    outcome(c, id, 'failed', { code, message: `${id}: ${code}: connect ECONNREFUSED 127.0.0.1:22102`, seconds: 15, attempts: 2, afterS: 30, ...extra });
  const notify = (ms: number, event: string, id: string, cut: string | null) =>
    add(ms, { type: 'notify_sent', at: iso(ms), key: `${event}:${id}:${cut ?? '-'}`, channel: 'email', detail: null });

  // Drills, the day before: recorded as drills and shown apart.
  for (let i = 0; i < 3; i += 1) {
    const c = nightCut(i, Date.parse('2024-06-01T12:00:00-06:00'));
    cutEvent(c, true);
    for (const d of ['el-sol', 'la-voz', 'radio-uni', 'quadratin']) {
      if (d === 'la-voz' && i === 1) fail(c, d, 'AUTH_FAILED');
      else outcome(c, d, 'delivered');
    }
    outcome(c, 'tv-norte', 'skipped', { code: 'disabled' });
  }

  const laVozBlockedFrom = 23;
  const laVozUnblockedAt = 45;
  for (let i = 0; i < cuts; i += 1) {
    const c = nightCut(i);
    cutEvent(c);
    const onlyRun = i === 50; // cut --only el-sol,radio-uni
    outcome(c, 'el-sol', 'delivered');
    // la-voz: down from cut 20; blocked after its third miss; the notice fails once, then is placed.
    if (i >= 20 && i < laVozBlockedFrom) fail(c, 'la-voz', i === 20 ? 'CONNECT_TIMEOUT' : 'CONNECT_REFUSED');
    else if (i >= laVozBlockedFrom && i < laVozUnblockedAt) outcome(c, 'la-voz', 'skipped', { code: 'blocked', afterS: 1 });
    else if (!onlyRun) outcome(c, 'la-voz', 'delivered');
    if (i === laVozBlockedFrom - 1) {
      add(c.ms + 31_000, { type: 'block', at: iso(c.ms + 31_000), id: 'la-voz', reason: 'auto: missed 3 consecutive cuts', by: 'auto' });
      add(c.ms + 40_000, { type: 'notice_failed', at: iso(c.ms + 40_000), id: 'la-voz', cut: c.id, error: 'la-voz: CONNECT_REFUSED: connect ECONNREFUSED 127.0.0.1:22102' });
      notify(c.ms + 45_000, 'blocked', 'la-voz', c.id);
    }
    if (i === laVozBlockedFrom + 2) {
      add(c.ms + 20_000, { type: 'notice_placed', at: iso(c.ms + 20_000), id: 'la-voz', cut: c.id, release: `${c.id}-aviso` });
      notify(c.ms + 25_000, 'notice_published', 'la-voz', c.id);
    }
    if (i >= 20 && i < laVozBlockedFrom) notify(c.ms + 35_000, 'missed', 'la-voz', c.id);
    if (i === laVozUnblockedAt - 1) {
      add(c.ms + 5 * MINUTE, { type: 'unblock', at: iso(c.ms + 5 * MINUTE), id: 'la-voz' });
      notify(c.ms + 5 * MINUTE + 2000, 'unblocked', 'la-voz', c.id);
      outcome(c, 'la-voz', 'delivered', { via: 'push', afterS: 6 * 60 }); // pushed by hand after the unblock
    }
    // radio-uni: a transfer timeout re-pushed by hand 4 minutes later; a full disk at cut 60, then fine.
    if (i === 8) {
      fail(c, 'radio-uni', 'TRANSFER_TIMEOUT', { seconds: 300 });
      outcome(c, 'radio-uni', 'delivered', { via: 'push', afterS: 4 * 60, seconds: 41.2 });
      notify(c.ms + 35_000, 'missed', 'radio-uni', c.id);
    } else if (i === 60) {
      fail(c, 'radio-uni', 'NO_SPACE', { attempts: 1 });
      notify(c.ms + 35_000, 'missed', 'radio-uni', c.id);
    } else {
      outcome(c, 'radio-uni', 'delivered');
    }
    if (i === 61) notify(c.ms + 35_000, 'recovered', 'radio-uni', c.id);
    // quadratin: left out of the --only run, then pushed by hand 3 minutes later.
    if (onlyRun) outcome(c, 'quadratin', 'delivered', { via: 'push', afterS: 180 });
    else outcome(c, 'quadratin', 'delivered');
    outcome(c, 'tv-norte', 'skipped', { code: 'disabled', afterS: 1 });

    // A wrong year typed in --cut at 01:35, withdrawn five minutes later.
    if (i === 33) {
      const wrong = { id: '20271125_1730', time: '2027-11-25T17:30:00-06:00', ms: c.ms + 5 * MINUTE };
      add(wrong.ms, { type: 'cut', at: iso(wrong.ms), cut: wrong.id, cutTime: wrong.time, package: `PREP2024_MICH_${wrong.id}.tar.gz`, sha256: 'cd'.repeat(32) });
      for (const d of ['el-sol', 'radio-uni', 'quadratin']) outcome(wrong, d, 'delivered');
      outcome(wrong, 'la-voz', 'skipped', { code: 'blocked', afterS: 1 });
      outcome(wrong, 'tv-norte', 'skipped', { code: 'disabled', afterS: 1 });
      add(wrong.ms + 4 * MINUTE, { type: 'retract', at: iso(wrong.ms + 4 * MINUTE), cut: wrong.id, reason: 'año equivocado en --cut' });
    }

    // Audits every 5 minutes of every enabled, non-blocked difusor with its newest cut.
    for (const offset of [2, 7]) {
      const ms = c.ms + offset * MINUTE;
      for (const d of ['el-sol', 'la-voz', 'radio-uni', 'quadratin']) {
        if (d === 'la-voz' && i >= laVozBlockedFrom - 1 && i < laVozUnblockedAt) continue;
        let outcomeOf: 'ok' | 'stale' | 'tampered' | 'unreachable' = 'ok';
        if (d === 'quadratin' && i >= 36 && i <= 37) outcomeOf = 'tampered';
        if (d === 'radio-uni' && i === 60) outcomeOf = 'stale';
        if (d === 'la-voz' && i >= 20 && i < laVozBlockedFrom) outcomeOf = 'unreachable';
        // The newest cut delivered to it: the one before, while its delivery of this one failed.
        const expected = (d === 'radio-uni' && i === 60) || (d === 'la-voz' && i >= 20) ? nightCut(d === 'la-voz' ? 19 : 59).id : c.id;
        add(ms, {
          type: 'audit',
          at: iso(ms),
          id: d,
          outcome: outcomeOf,
          servedCut: outcomeOf === 'unreachable' ? null : outcomeOf === 'stale' ? nightCut(58).id : expected,
          expectedCut: expected,
          problems: [],
          via: 'audit',
          countsAsMiss: false,
        });
      }
    }
  }
  return events.sort((a, b) => a.sortMs - b.sortMs).map(({ sortMs: _sortMs, ...e }) => e as LedgerEvent);
}

/** The report's input for that night, as `report` would build it from the registry. */
export function electionNightInput(cuts = 72): ReportInput {
  return {
    events: electionNight(cuts),
    difusores: NIGHT_DIFUSORES,
    institute: { short: 'IEM', name: 'Instituto Electoral de Michoacán' },
    timezone: 'America/Mexico_City',
    generatedAtMs: Date.parse('2024-06-03T09:00:00-06:00'),
  };
}
