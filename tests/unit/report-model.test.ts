// The incident report's model and its text renderers, from journal tables: cells, miss streaks,
// availability (blocked cuts count as not served), medians, --from/--to, blocks, withdrawn cuts,
// drills, notices placed and removed, audits against 99.9 %, notifications apart, CSV and Markdown.
import { buildIncidentReport, cellOf, errorInWords, type ReportInput } from '../../src/report/model.js';
import { csvField, CSV_HEADER, gridBlocks, renderCsv, renderMarkdown } from '../../src/report/render-text.js';
import { renderHtml } from '../../src/report/render-html.js';
import { noticesInPlace } from '../../src/report/timeline.js';
import { timeInWords } from '../../src/report/words.js';
import { localTimeInWords, zoneInWords } from '../../src/words/time.js';
import type { LedgerEvent } from '../../src/ledger/types.js';

type Outcome = Extract<LedgerEvent, { type: 'outcome' }>;

/** `HH:mm` of 2024-06-02 in Mexico City (−06:00) as UTC ISO, plus seconds. */
function at(clock: string, seconds = 0): string {
  const [h, m] = clock.split(':').map(Number);
  return new Date(Date.UTC(2024, 5, 2, h + 6, m, seconds)).toISOString();
}
const cutId = (clock: string) => `20240602_${clock.replace(':', '')}`;

function cutEvent(clock: string): LedgerEvent {
  return { type: 'cut', at: at(clock), cut: cutId(clock), cutTime: `2024-06-02T${clock}:00-06:00`, package: `PREP_${cutId(clock)}.tar.gz`, sha256: 'ab'.repeat(32) };
}
function outcome(clock: string, id: string, result: Outcome['outcome'], extra: Partial<Outcome> = {}): Outcome {
  return {
    type: 'outcome',
    at: at(clock, 30),
    cut: cutId(clock),
    id,
    outcome: result,
    code: result === 'skipped' ? 'blocked' : null,
    message: null,
    via: 'cut',
    seconds: 1,
    attempts: result === 'skipped' ? 0 : 1,
    ...extra,
  };
}
const fail = (clock: string, id: string, code: string, extra: Partial<Outcome> = {}) =>
  outcome(clock, id, 'failed', { code: code as Outcome['code'], message: `${id}: ${code}`, seconds: 5, attempts: 2, ...extra });

const difusores = [
  { id: 'el-sol', name: 'El Sol de Morelia', enabled: true },
  { id: 'la-voz', name: 'La Voz', enabled: true },
  { id: 'tv-norte', name: 'TV Norte', enabled: false },
];

/**
 * An election night of five cuts: el-sol always delivered (1, 2, 3, 4, 10 s); la-voz misses three
 * (timeouts, then a refusal), is blocked, skipped at 21:20, unblocked and delivered at 21:40;
 * tv-norte disabled.
 */
function night(): LedgerEvent[] {
  return [
    cutEvent('20:40'),
    outcome('20:40', 'el-sol', 'delivered', { seconds: 1 }),
    outcome('20:40', 'la-voz', 'delivered', { seconds: 3 }),
    outcome('20:40', 'tv-norte', 'skipped', { code: 'disabled' }),
    cutEvent('21:00'),
    outcome('21:00', 'el-sol', 'delivered', { seconds: 2 }),
    fail('21:00', 'la-voz', 'CONNECT_TIMEOUT'),
    outcome('21:00', 'tv-norte', 'skipped', { code: 'disabled' }),
    cutEvent('21:10'),
    outcome('21:10', 'el-sol', 'delivered', { seconds: 3 }),
    fail('21:10', 'la-voz', 'CONNECT_TIMEOUT'),
    // A manual re-push of 21:10 that fails again: still one missed cut.
    fail('21:10', 'la-voz', 'CONNECT_REFUSED', { via: 'push', at: at('21:15') }),
    cutEvent('21:20'),
    outcome('21:20', 'el-sol', 'delivered', { seconds: 4 }),
    fail('21:20', 'la-voz', 'CONNECT_REFUSED'),
    { type: 'block', at: at('21:20', 45), id: 'la-voz', reason: 'auto: missed 3 consecutive cuts', by: 'auto' },
    cutEvent('21:30'),
    outcome('21:30', 'el-sol', 'delivered', { seconds: 10 }),
    outcome('21:30', 'la-voz', 'skipped', { code: 'blocked' }),
    { type: 'unblock', at: at('21:35'), id: 'la-voz' },
    cutEvent('21:40'),
    outcome('21:40', 'el-sol', 'delivered', { seconds: 2 }),
    outcome('21:40', 'la-voz', 'delivered', { seconds: 6 }),
  ];
}

const input = (events: LedgerEvent[], extra: Partial<ReportInput> = {}): ReportInput => ({
  events,
  difusores,
  institute: { short: 'IEM' },
  timezone: 'America/Mexico_City',
  generatedAtMs: Date.parse('2024-06-03T12:00:00Z'),
  ...extra,
});

describe('cellOf: one (difusor, cut) from every outcome recorded for it', () => {
  const d = (result: Outcome['outcome'], clock: string, extra: Partial<Outcome> = {}) => outcome('21:00', 'x', result, { at: at(clock), ...extra });
  test.each([
    ['nothing recorded', [], 'not_targeted', null],
    ['delivered by the cut', [d('delivered', '21:00')], 'delivered', null],
    ['failed, then delivered by a push', [d('failed', '21:00', { code: 'NO_SPACE' }), d('delivered', '21:05', { via: 'push' })], 'late', 'NO_SPACE'],
    ['delivered, then a push of it failed', [d('delivered', '21:00'), d('failed', '21:05', { code: 'AUTH_FAILED' })], 'delivered', null],
    ['failed, then skipped by a re-run (never hides the failure)', [d('failed', '21:00', { code: 'CONNECTION_LOST' }), d('skipped', '21:05', { code: 'blocked' })], 'failed', 'CONNECTION_LOST'],
    ['failed twice: the last code', [d('failed', '21:00', { code: 'CONNECT_TIMEOUT' }), d('failed', '21:05', { code: 'CONNECT_REFUSED' })], 'failed', 'CONNECT_REFUSED'],
    ['skipped as blocked', [d('skipped', '21:00', { code: 'blocked' })], 'blocked', null],
    ['skipped as disabled', [d('skipped', '21:00', { code: 'disabled' })], 'disabled', null],
    ['skipped as blocked, then delivered by a push after the unblock', [d('skipped', '21:00', { code: 'blocked' }), d('delivered', '21:40', { via: 'push' })], 'late', null],
  ] as Array<[string, Outcome[], string, string | null]>)('%s', (_name, outcomes, expected, code) => {
    const cell = cellOf('x', '20240602_2100', outcomes, at('21:00'));
    expect([cell.outcome, cell.error_code]).toEqual([expected, code]);
  });

  test('a first delivery by push is late when a cut run recorded the cut before without it (--only), on time when no cut run did (build, then push)', () => {
    const byPush = [d('delivered', '21:30', { via: 'push' })];
    expect(cellOf('x', '20240602_2100', byPush, at('21:00')).outcome).toBe('late');
    expect(cellOf('x', '20240602_2100', byPush, null).outcome).toBe('delivered');
  });

  test('the results\' words, the skip reason, the delivery time and the error in Spanish words', () => {
    const late = cellOf('x', '20240602_2100', [d('failed', '21:00', { code: 'CONNECT_REFUSED', message: 'connect ECONNREFUSED 127.0.0.1:22102' }), d('delivered', '21:05', { via: 'push' })]);
    expect(late).toMatchObject({ outcome: 'late', result: 'delivered', skip_reason: null, delivered_at: at('21:05'), error_code: 'CONNECT_REFUSED' });
    expect(late.error_message).toBe('el servidor rechazó la conexión: ningún servicio escucha en el puerto');
    expect(cellOf('x', '20240602_2100', [d('skipped', '21:00', { code: 'blocked' })])).toMatchObject({ result: 'skipped', skip_reason: 'blocked', delivered_at: null });
    expect(cellOf('x', '20240602_2100', [])).toMatchObject({ result: 'skipped', skip_reason: 'not_targeted' });
  });
});

describe('buildIncidentReport', () => {
  const report = buildIncidentReport(input(night()));
  const byId = Object.fromEntries(report.difusores.map((d) => [d.id, d]));

  test('per difusor: published while enabled, targeted, delivered, missed, blocked, availability (blocked cuts count as not served), median and max seconds', () => {
    const pick = (id: string) => {
      const d = byId[id];
      return [d.published, d.targeted, d.delivered, d.delivered_late, d.missed, d.missed_blocked, d.skipped, d.availability_pct, d.median_seconds, d.max_seconds];
    };
    expect(pick('el-sol')).toEqual([6, 6, 6, 0, 0, 0, 0, 100, 2.5, 10]);
    // Blocked at 21:30: that cut was published while it was enabled and it never got it: 2 of 6, not 2 of 5.
    expect(pick('la-voz')).toEqual([6, 5, 2, 0, 3, 1, 1, 33.3, 4.5, 6]);
    // Disabled all night: nothing published to it counts.
    expect(pick('tv-norte')).toEqual([0, 0, 0, 0, 0, 0, 2, null, null, null]);
  });

  test('per cut: delivered of published (the difusores enabled then)', () => {
    expect(report.cuts.map((c) => [c.id.slice(9), c.delivered, c.published, c.skipped])).toEqual([
      ['2040', 2, 2, 1],
      ['2100', 1, 2, 1],
      ['2110', 1, 2, 0],
      ['2120', 1, 2, 0],
      ['2130', 1, 2, 1],
      ['2140', 2, 2, 0],
    ]);
    expect(report.cuts[0].time).toBe('2024-06-02T20:40:00-06:00');
    expect(report.totals).toEqual({
      cuts: 6,
      withdrawn_cuts: 0,
      drill_cuts: 0,
      difusores: 3,
      published: 12,
      targeted: 11,
      delivered: 8,
      delivered_late: 0,
      missed: 3,
      not_served: 4,
      availability_pct: 66.7,
      blocks: 1,
      audits: 0,
      audits_ok_pct: null,
    });
  });

  test('the period in words, in the zone named once with its offset', () => {
    expect(report.timezone_words).toBe('hora del centro de México, UTC−06:00');
    expect(report.period).toEqual({ from: '20240602_2040', to: '20240602_2140', from_time: '2024-06-02T20:40:00-06:00', to_time: '2024-06-02T21:40:00-06:00' });
    expect(buildIncidentReport(input(night(), { timezoneLabel: 'tiempo del centro' })).timezone_words).toBe('tiempo del centro, UTC−06:00');
  });

  test('blocked periods: when, why, and the cuts published meanwhile; their cells are marked', () => {
    expect(byId['la-voz'].blocked_periods).toEqual([
      {
        from: at('21:20', 45),
        from_local: '2024-06-02T21:20:45-06:00',
        to: at('21:35'),
        to_local: '2024-06-02T21:35:00-06:00',
        reason: 'auto: missed 3 consecutive cuts',
        by: 'auto',
        cuts: ['20240602_2130'],
      },
    ]);
    expect(report.cells.filter((c) => c.blocked_at_cut).map((c) => `${c.difusor} ${c.cut}`)).toEqual(['la-voz 20240602_2130']);
  });

  test('one cell per (difusor, cut), skipped ones included, in registry and cut order', () => {
    expect(report.cells).toHaveLength(3 * 6);
    expect(report.cells.filter((c) => c.difusor === 'la-voz').map((c) => c.outcome)).toEqual(['delivered', 'failed', 'failed', 'failed', 'blocked', 'delivered']);
  });

  test('incidents: the miss streak (codes counted, first/last cut and local times, recovery), then block and unblock', () => {
    const [streak, blocked, unblocked] = byId['la-voz'].incidents;
    expect(streak).toMatchObject({
      kind: 'miss_streak',
      first_cut: '20240602_2100',
      last_cut: '20240602_2120',
      cuts: 3,
      error_codes: { CONNECT_TIMEOUT: 1, CONNECT_REFUSED: 2 },
      at_local: '2024-06-02T21:00:30-06:00',
      recovered_at_cut: '20240602_2140',
    });
    expect(blocked).toMatchObject({ kind: 'block', by: 'auto', reason: 'auto: missed 3 consecutive cuts', at_local: '2024-06-02T21:20:45-06:00' });
    expect(unblocked).toMatchObject({ kind: 'unblock', at_local: '2024-06-02T21:35:00-06:00' });
    expect(byId['el-sol'].incidents).toEqual([]);
  });

  test('a streak still open at the end of the period says so', () => {
    const events = night().slice(0, 16); // up to and including the block
    const streak = buildIncidentReport(input(events)).difusores[1].incidents[0];
    expect(streak).toMatchObject({ kind: 'miss_streak', cuts: 3, recovered_at_cut: null });
  });

  test('--from/--to keep only the cuts in range, and the blocks inside its time window', () => {
    const ranged = buildIncidentReport(input(night(), { from: '20240602_2110', to: '20240602_2120' }));
    expect(ranged.cuts.map((c) => c.id)).toEqual(['20240602_2110', '20240602_2120']);
    expect(ranged.period).toMatchObject({ from: '20240602_2110', to: '20240602_2120' });
    const laVoz = ranged.difusores.find((d) => d.id === 'la-voz')!;
    expect([laVoz.targeted, laVoz.missed, laVoz.availability_pct]).toEqual([2, 2, 0]);
    expect(laVoz.incidents.map((i) => i.kind)).toEqual(['miss_streak', 'block']);
    const early = buildIncidentReport(input(night(), { to: '20240602_2100' }));
    expect(early.difusores.find((d) => d.id === 'la-voz')!.incidents.map((i) => i.kind)).toEqual(['miss_streak']);
  });

  test('a failed cut delivered later by hand counts as delivered late, and recovers the streak', () => {
    const events: LedgerEvent[] = [
      cutEvent('21:00'),
      fail('21:00', 'el-sol', 'NO_SPACE'),
      outcome('21:00', 'el-sol', 'delivered', { via: 'push', at: at('21:07'), seconds: 8 }),
    ];
    const d = buildIncidentReport(input(events)).difusores[0];
    expect([d.targeted, d.delivered, d.delivered_late, d.missed, d.availability_pct, d.median_seconds]).toEqual([1, 1, 1, 0, 100, 8]);
  });

  test('blocked, then pushed by hand: late (not a plain delivery), marked as published during the block, and still served', () => {
    const events: LedgerEvent[] = [
      cutEvent('21:00'),
      fail('21:00', 'el-sol', 'CONNECT_TIMEOUT'),
      { type: 'block', at: at('21:02'), id: 'el-sol', reason: 'caído', by: 'manual' },
      cutEvent('21:10'),
      outcome('21:10', 'el-sol', 'skipped', { code: 'blocked' }),
      { type: 'unblock', at: at('21:15'), id: 'el-sol' },
      outcome('21:10', 'el-sol', 'delivered', { via: 'push', at: at('21:16') }),
    ];
    const r = buildIncidentReport(input(events));
    const cell = r.cells.find((c) => c.difusor === 'el-sol' && c.cut === '20240602_2110')!;
    expect(cell).toMatchObject({ outcome: 'late', result: 'delivered', blocked_at_cut: true, delivered_at: at('21:16') });
    expect(r.cuts.find((c) => c.id === '20240602_2110')).toMatchObject({ delivered: 1, late: 1, published: 1 });
    const d = r.difusores[0];
    expect([d.published, d.delivered, d.delivered_late, d.missed, d.availability_pct]).toEqual([2, 1, 1, 1, 50]);
  });

  test('a cut run with --only: the difusor left out did not get the cut, which counts against it once it is in service', () => {
    const events: LedgerEvent[] = [
      cutEvent('21:00'),
      outcome('21:00', 'el-sol', 'delivered'),
      outcome('21:00', 'la-voz', 'delivered'),
      cutEvent('21:10'),
      outcome('21:10', 'el-sol', 'delivered'), // cut --only el-sol
    ];
    const r = buildIncidentReport(input(events));
    const laVoz = r.difusores.find((d) => d.id === 'la-voz')!;
    expect(r.cells.find((c) => c.difusor === 'la-voz' && c.cut === '20240602_2110')).toMatchObject({ outcome: 'not_targeted', skip_reason: 'not_targeted', counts: true });
    expect([laVoz.published, laVoz.delivered, laVoz.missed_not_targeted, laVoz.availability_pct]).toEqual([2, 1, 1, 50]);
    // A difusor added to the registry later: the cuts before its first one are not held against it.
    const later = buildIncidentReport(input([...events, cutEvent('21:20'), outcome('21:20', 'tv-norte', 'delivered')], { difusores: [...difusores.slice(0, 2), { id: 'tv-norte', name: 'TV Norte', enabled: true }] }));
    expect(later.difusores.find((d) => d.id === 'tv-norte')).toMatchObject({ published: 1, delivered: 1, availability_pct: 100 });
  });

  test('an id only in the journal (removed from the registry) is still reported', () => {
    const events: LedgerEvent[] = [cutEvent('21:00'), outcome('21:00', 'old-one', 'delivered')];
    const old = buildIncidentReport(input(events)).difusores.find((d) => d.id === 'old-one');
    expect(old).toMatchObject({ in_registry: false, delivered: 1 });
  });

  test('a withdrawn cut keeps what happened in its cells, counts for nobody, and is out of the period', () => {
    const retract = { type: 'retract', at: at('21:50'), cut: '20240602_2140', reason: 'publicado por error' } as unknown as LedgerEvent;
    const r = buildIncidentReport(input([...night(), retract]));
    expect(r.cuts.find((c) => c.id === '20240602_2140')).toMatchObject({ withdrawn: true, withdrawn_reason: 'publicado por error' });
    const cells = r.cells.filter((c) => c.cut === '20240602_2140');
    expect(cells.map((c) => [c.difusor, c.outcome, c.withdrawn, c.counts])).toEqual([
      ['el-sol', 'delivered', true, false],
      ['la-voz', 'delivered', true, false],
      ['tv-norte', 'not_targeted', true, false],
    ]);
    expect(r.period).toMatchObject({ from: '20240602_2040', to: '20240602_2130' });
    expect(r.totals).toMatchObject({ cuts: 5, withdrawn_cuts: 1, published: 10, delivered: 6 });
    expect(r.general.map((g) => g.summary)).toEqual(['Corte 20240602_2140 retirado: publicado por error']);
    // A withdrawn cut far in the future (a wrong year) is named nowhere in the period.
    const wrongYear: LedgerEvent[] = [...night(), { ...(cutEvent('21:50') as Extract<LedgerEvent, { type: 'cut' }>), cut: '20271125_1730', cutTime: '2027-11-25T17:30:00-06:00' }, { type: 'retract', at: at('21:55'), cut: '20271125_1730', reason: 'año equivocado' }];
    const w = buildIncidentReport(input(wrongYear));
    expect(w.period.to).toBe('20240602_2140');
    expect(renderHtml(w)).toMatch(/<p class="meta">IEM · cortes del 2 de junio de 2024, 20:40 al 2 de junio de 2024, 21:40 \(20240602_2040 a 20240602_2140\)<\/p>/);
  });

  test('drill cuts are apart: out of the period, the availability and the totals, their cells flagged', () => {
    const drill = (clock: string): LedgerEvent => ({ ...(cutEvent(clock) as Extract<LedgerEvent, { type: 'cut' }>), drill: true });
    const events: LedgerEvent[] = [drill('18:00'), fail('18:00', 'la-voz', 'NO_SPACE'), outcome('18:00', 'el-sol', 'delivered'), ...night()];
    const r = buildIncidentReport(input(events));
    expect(r.cuts.find((c) => c.id === '20240602_1800')).toMatchObject({ drill: true });
    expect(r.period.from).toBe('20240602_2040');
    expect(r.drill_period).toEqual({ from: '20240602_1800', to: '20240602_1800' });
    expect(r.totals).toMatchObject({ cuts: 6, drill_cuts: 1, published: 12, delivered: 8, missed: 3 });
    expect(r.cells.find((c) => c.difusor === 'la-voz' && c.cut === '20240602_1800')).toMatchObject({ drill: true, counts: false, outcome: 'failed' });
    // The drill's failure is no incident of the election.
    expect(r.difusores.find((d) => d.id === 'la-voz')!.incidents[0]).toMatchObject({ kind: 'miss_streak', first_cut: '20240602_2100' });
    expect(renderCsv(r).split('\r\n')).toContain('la-voz,20240602_1800,failed,NO_SPACE,5,2,,,,el disco del servidor está lleno,yes,2024-06-02T18:00:00-06:00,,');
  });

  test('an empty journal gives an empty report, not an error', () => {
    const r = buildIncidentReport(input([]));
    expect([r.cuts, r.cells, r.totals.availability_pct, r.period]).toEqual([[], [], null, { from: null, to: null, from_time: null, to_time: null }]);
    expect(renderHtml(r)).toContain('No hay cortes de la elección en el periodo.');
  });

  test('names the institute by institute_name when the registry has it', () => {
    expect(buildIncidentReport(input([], { institute: { short: 'IEM', name: 'Instituto Electoral de Michoacán' } })).institute).toEqual({
      short: 'IEM',
      name: 'Instituto Electoral de Michoacán',
    });
  });
});

type Audit = Extract<LedgerEvent, { type: 'audit' }>;
const audit = (clock: string, id: string, outcome: Audit['outcome'], servedCut: string | null, expectedCut = cutId('20:40')): Audit => ({
  type: 'audit',
  at: at(clock, 45),
  id,
  outcome,
  servedCut,
  expectedCut,
  problems: [],
  via: 'audit',
  countsAsMiss: false,
});
describe('incidents from audits, notices and notifications', () => {
  const eventLines = (events: LedgerEvent[], id: string) =>
    buildIncidentReport(input([...night(), ...events]))
      .difusores.find((d) => d.id === id)!
      .incidents.filter((i) => i.kind === 'event')
      .map((i) => (i.kind === 'event' ? [i.type, i.cut, i.summary] : null));

  test('an audit gets a line only when it turns to a failure, changes failure, or recovers', () => {
    const lines = eventLines(
      [
        audit('20:41', 'el-sol', 'ok', cutId('20:40')),
        audit('20:42', 'el-sol', 'stale', '20240602_2000'),
        audit('20:43', 'el-sol', 'stale', '20240602_2000'),
        audit('20:44', 'el-sol', 'tampered', cutId('20:40')),
        audit('20:45', 'el-sol', 'ok', cutId('20:40')),
        audit('20:46', 'el-sol', 'ok', cutId('20:40')),
      ],
      'el-sol',
    );
    expect(lines).toEqual([
      ['audit', cutId('20:40'), 'Revisión del sitio público: su sitio público no muestra el último corte que se le entregó (stale); muestra el corte 20240602_2000'],
      ['audit', cutId('20:40'), expect.stringMatching(/^Revisión del sitio público: archivos de su sitio público no coinciden .*\(tampered\); muestra el corte 20240602_2040$/)],
      ['audit', cutId('20:40'), 'Revisión del sitio público: volvió a servir el último corte sin alteraciones (antes: archivos alterados)'],
    ]);
  });

  test('the first audit of a difusor, if failing, is a line; an unreachable site names no cut', () => {
    expect(eventLines([audit('20:41', 'el-sol', 'unreachable', null)], 'el-sol')).toEqual([
      ['audit', cutId('20:40'), expect.stringMatching(/^Revisión del sitio público: no se pudo consultar su sitio público.*\(unreachable\); no muestra ningún corte reconocible$/)],
    ]);
  });

  test('an audit before the range still counts as the previous one of an audit inside it', () => {
    const events = [...night(), audit('20:41', 'el-sol', 'stale', null, cutId('20:40')), audit('21:41', 'el-sol', 'stale', null, cutId('21:40'))];
    const r = buildIncidentReport(input(events, { from: cutId('21:40') }));
    expect(r.difusores.find((d) => d.id === 'el-sol')!.incidents).toEqual([]);
  });

  test('notices placed, failed (the error in Spanish words, never the English message) and removed by the next results, each a line with its time and cut', () => {
    const events: LedgerEvent[] = [
      { type: 'notice_failed', at: at('21:20', 50), id: 'la-voz', cut: cutId('21:20'), error: 'la-voz: CONNECT_TIMEOUT: connect ETIMEDOUT 127.0.0.1:22102' },
      { type: 'notice_failed', at: at('21:25'), id: 'la-voz', cut: cutId('21:20'), error: 'la-voz takes packages and the registry has no signing_key' },
      { type: 'notice_placed', at: at('21:30', 50), id: 'la-voz', cut: cutId('21:30'), release: 'aviso-20240602_2130' },
    ];
    // night() delivers 21:40 to la-voz after its unblock: that delivery removes the notice.
    const all = [...night().slice(0, 19), ...events, ...night().slice(19)];
    const laVoz = buildIncidentReport(input(all)).difusores.find((d) => d.id === 'la-voz')!;
    const lines = laVoz.incidents.filter((i) => i.kind === 'event').map((i) => (i.kind === 'event' ? [i.type, i.cut, i.at, i.summary] : null));
    expect(lines).toEqual([
      ['notice_failed', cutId('21:20'), at('21:20', 50), 'No se pudo publicar el aviso de suspensión (se reintenta en el siguiente corte): el servidor no respondió a tiempo (CONNECT_TIMEOUT)'],
      ['notice_failed', cutId('21:20'), at('21:25'), 'No se pudo publicar el aviso de suspensión (se reintenta en el siguiente corte)'],
      ['notice_placed', cutId('21:30'), at('21:30', 50), 'Aviso de suspensión publicado en su portal (aviso-20240602_2130)'],
      ['notice_removed', cutId('21:40'), at('21:40', 30), 'Aviso de suspensión retirado: su portal volvió a mostrar resultados (corte 20240602_2140)'],
    ]);
  });

  test('notifications are not incidents: they go to the appendix, in time order, in Spanish; queue and attempt are not lines', () => {
    const key = `missed:la-voz:${cutId('21:00')}`;
    const r = buildIncidentReport(
      input([
        ...night(),
        { type: 'notify_queued', at: at('21:00', 40), key, channel: 'email', notification: {} as never },
        { type: 'notify_attempt', at: at('21:00', 41), key, channel: 'email' },
        { type: 'notify_failed', at: at('21:00', 42), key, channel: 'email', error: 'SMTP 127.0.0.1:25: ECONNREFUSED' },
        { type: 'notify_sent', at: at('21:00', 43), key, channel: 'command', detail: null },
        { type: 'notify_sent', at: at('21:10', 43), key: 'blocked:la-voz:-', channel: 'webhook', detail: null },
      ]),
    );
    expect(r.difusores.flatMap((d) => d.incidents).filter((i) => i.kind === 'event')).toEqual([]);
    expect(r.notifications.map((n) => [n.type, n.difusor, n.cut, n.summary])).toEqual([
      ['notify_failed', 'la-voz', cutId('21:00'), 'Notificación no enviada por correo electrónico (se reintenta en la siguiente ejecución): corte no recibido'],
      ['notify_sent', 'la-voz', cutId('21:00'), 'Notificación enviada por comando: corte no recibido'],
      ['notify_sent', 'la-voz', null, 'Notificación enviada por webhook: bloqueo'],
    ]);
    const html = renderHtml(r);
    expect(html.indexOf('id="anexo"')).toBeGreaterThan(html.indexOf('id="incidencias"'));
    expect(html).not.toContain('ECONNREFUSED');
  });

  test('a notification whose key is not event:difusor:cut is no line rather than a wrong one', () => {
    const r = buildIncidentReport(input([...night(), { type: 'notify_sent', at: at('21:00', 43), key: 'garbled', channel: 'email', detail: null }]));
    expect(r.notifications).toEqual([]);
  });

  test('monitoring: the share of audits that were ok, their number and period, against 99.9 %', () => {
    const many = (n: number, from: string, outcome: Audit['outcome'] = 'ok') =>
      Array.from({ length: n }, (_, i) => ({ ...audit(from, 'el-sol', outcome, cutId('20:40')), at: new Date(Date.parse(at(from)) + i * 1000).toISOString() }));
    const r = buildIncidentReport(input([...night(), ...many(998, '20:45'), ...many(2, '21:05', 'stale')]));
    const m = r.difusores.find((d) => d.id === 'el-sol')!.monitoring;
    expect(m).toMatchObject({ audits: 1000, ok: 998, ok_pct: 99.8, meets_target: false, outcomes: { ok: 998, stale: 2 }, first_at: at('20:45') });
    expect(m.last_at).toBe(new Date(Date.parse(at('21:05')) + 1000).toISOString());
    expect(r.difusores.find((d) => d.id === 'la-voz')!.monitoring).toMatchObject({ audits: 0, ok_pct: null, meets_target: null });
    expect(r.totals).toMatchObject({ audits: 1000, audits_ok_pct: 99.8 });
    // 99.95 % meets it; the share is floored, never rounded up to the target.
    const meets = buildIncidentReport(input([...night(), ...many(1999, '20:45'), ...many(1, '21:05', 'tampered')]));
    expect(meets.difusores[0].monitoring).toMatchObject({ ok_pct: 99.95, meets_target: true });
    const below = buildIncidentReport(input([...night(), ...many(9989, '20:45'), ...many(11, '21:05', 'tampered')]));
    expect(below.difusores[0].monitoring).toMatchObject({ ok_pct: 99.89, meets_target: false });
  });
});

describe('each portal over wall-clock time', () => {
  const report = buildIncidentReport(input([...night(), { type: 'notice_placed', at: at('21:31'), id: 'la-voz', cut: cutId('21:30'), release: '20240602_2130-aviso' }]));
  const timeline = (id: string) => report.difusores.find((d) => d.id === id)!.timeline.map((s) => [s.state, s.from, s.to]);

  test('from the first election cut to the last event: current, failing from its first failure, blocked, notice until results return', () => {
    expect(report.window).toEqual({ from: at('20:40'), to: at('21:40', 30) });
    expect(timeline('la-voz')).toEqual([
      ['none', at('20:40'), at('20:40', 30)],
      ['current', at('20:40', 30), at('21:00', 30)],
      ['failing', at('21:00', 30), at('21:20', 45)],
      ['blocked', at('21:20', 45), at('21:31')],
      // The unblock at 21:35 leaves the notice up: only the delivery of 21:40 puts results back.
      ['notice', at('21:31'), at('21:40', 30)],
    ]);
    expect(timeline('el-sol')).toEqual([
      ['none', at('20:40'), at('20:40', 30)],
      ['current', at('20:40', 30), at('21:40', 30)],
    ]);
    expect(timeline('tv-norte')).toEqual([['none', at('20:40'), at('21:40', 30)]]);
  });

  test('the notice in place now (what `status` shows): from its placement until results are delivered again, an unblock alone leaves it up', () => {
    const placed: LedgerEvent = { type: 'notice_placed', at: at('21:31'), id: 'la-voz', cut: cutId('21:30'), release: '20240602_2130-aviso' };
    const upTo = (n: number) => noticesInPlace([...night().slice(0, n), placed]);
    // Placed while blocked (journaled after the 21:30 skip): up.
    expect(upTo(19).get('la-voz')).toEqual({ release: '20240602_2130-aviso', since: at('21:31'), cut: cutId('21:30') });
    const all = [...night().slice(0, 19), placed, ...night().slice(19)];
    // After the unblock (21:35) and before the 21:40 delivery: still up.
    expect(noticesInPlace(all.slice(0, 21)).has('la-voz')).toBe(true);
    // The delivery of 21:40 takes it down.
    expect(noticesInPlace(all).has('la-voz')).toBe(false);
  });

  test('shares of the window per state', () => {
    const shares = report.difusores.find((d) => d.id === 'la-voz')!.time_shares;
    // 60.5 minutes: 30 s none, 20 min current, 20 min 15 s failing, 10 min 15 s blocked, 9 min 30 s notice.
    expect(shares).toEqual({ none: 0.8, current: 33.1, failing: 33.5, blocked: 16.9, notice: 15.7 });
  });

  test('the picture is inline SVG: a rect per segment with its words, no script, nothing fetched', () => {
    const html = renderHtml(report);
    const svg = /<div class="tl"><h3>La Voz[\s\S]*?<\/svg>/.exec(html)![0];
    expect(svg).toContain('fill="#8250df"><title>aviso de suspensión en su portal: del 2 de junio de 2024, 21:31 al 2 de junio de 2024, 21:40:30</title>');
    expect(html).not.toMatch(/<(script|img|link|iframe|object|embed|image|use)\b|url\(|href="(?!#)/i);
  });
});

describe('CSV', () => {
  test.each([
    ['plain', 'plain'],
    ['a,b', '"a,b"'],
    ['say "hi"', '"say ""hi"""'],
    ['two\nlines', '"two\nlines"'],
    ['cr\r', '"cr\r"'],
    [null, ''],
    [1.5, '1.5'],
  ])('field %j → %j', (value, expected) => {
    expect(csvField(value)).toBe(expected);
  });

  test('the contract\'s six columns first, then skip_reason, withdrawn, delivered_at, error_message (Spanish words), drill; one CRLF row per (difusor, cut)', () => {
    const events: LedgerEvent[] = [
      ...night(),
      { type: 'retract', at: at('21:50'), cut: '20240602_2140', reason: 'publicado por error' },
      cutEvent('21:50'),
      outcome('21:50', 'el-sol', 'delivered'), // cut --only el-sol
      outcome('21:50', 'odd,"id"', 'delivered'),
    ];
    (events[6] as Outcome).message = 'connect ECONNREFUSED 127.0.0.1:22102';
    const csv = renderCsv(buildIncidentReport(input(events)));
    const lines = csv.split('\r\n');
    expect(lines[0]).toBe(CSV_HEADER.join(','));
    expect(lines[0]).toBe('difusor,cut,outcome,error_code,seconds,attempts,skip_reason,withdrawn,delivered_at,error_message,drill,cut_time,late,blocked_at_cut');
    expect(lines).toHaveLength(1 + 4 * 7 + 1); // header, 4 difusores × 7 cuts, the empty string after the last CRLF
    expect(lines).toContain(`el-sol,20240602_2040,delivered,,1,1,,,${at('20:40', 30)},,,2024-06-02T20:40:00-06:00,,`);
    expect(lines).toContain('tv-norte,20240602_2040,skipped,,,,disabled,,,,,2024-06-02T20:40:00-06:00,,');
    expect(lines).toContain('la-voz,20240602_2100,failed,CONNECT_TIMEOUT,5,2,,,,el servidor no respondió a tiempo,,2024-06-02T21:00:00-06:00,,');
    expect(lines).toContain('la-voz,20240602_2130,skipped,,,,blocked,,,,,2024-06-02T21:30:00-06:00,,yes');
    expect(lines).toContain('la-voz,20240602_2150,skipped,,,,not_targeted,,,,,2024-06-02T21:50:00-06:00,,');
    expect(lines).toContain(`"odd,""id""",20240602_2150,delivered,,1,1,,,${at('21:50', 30)},,,2024-06-02T21:50:00-06:00,,`);
    // A withdrawn cut: `yes` on every row, the outcome as it happened.
    expect(lines.filter((l) => /^[a-z-]+,20240602_2140,/.test(l)).map((l) => l.split(',').slice(0, 3).concat(l.split(',')[7]).join(','))).toEqual([
      'el-sol,20240602_2140,delivered,yes',
      'la-voz,20240602_2140,delivered,yes',
      'tv-norte,20240602_2140,skipped,yes',
    ]);
    expect(csv).not.toMatch(/ECONNREFUSED|127\.0\.0\.1/);
    expect(lines.some((l) => l.split(',')[2] === 'blocked')).toBe(false);
  });
});

describe('Markdown', () => {
  test('tables and incidents in Spanish', () => {
    const md = renderMarkdown(buildIncidentReport(input(night())));
    expect(md).toContain('| la-voz | La Voz | 6 | 2 | 0 | 3 | 1 | 0 | 33,3 | 4,50 | 6,00 | sin revisiones registradas de su sitio público | sin datos |');
    expect(md).toContain('| difusor | 02/06 20:40 | 02/06 21:00 | 02/06 21:10 | 02/06 21:20 | 02/06 21:30 | 02/06 21:40 |');
    expect(md).toContain('| la-voz | E | F | F | F | B | E |');
    expect(md).toContain(
      'Perdió 3 cortes seguidos (20240602_2100 a 20240602_2120). CONNECT_TIMEOUT en 1 corte: el servidor no respondió a tiempo. ' +
        'CONNECT_REFUSED en 2 cortes: el servidor rechazó la conexión: ningún servicio escucha en el puerto. ' +
        'Se recuperó en el corte 20240602_2140.',
    );
    expect(md).toContain('Bloqueado automáticamente: perdió 3 cortes consecutivos.');
    expect(md).toContain('6 cortes de la elección y 3 difusores; 8 de 12 envíos a difusores habilitados llegaron (disponibilidad 66,7 %); 4 cortes no servidos, de ellos 3 perdidos por falla; 1 bloqueo.');
    expect(md).toContain('Todas las horas son en hora del centro de México, UTC−06:00.');
    expect(md).not.toMatch(/\b1 bloqueos\b|America\/Mexico_City/);
  });

  test('what the journal or the registry says is inert: HTML escaped, Markdown marks escaped', () => {
    const events: LedgerEvent[] = [...night(), { type: 'block', at: at('21:45'), id: 'el-sol', reason: '<script>alert(1)</script> [x](javascript:alert(1)) | *', by: 'manual' }];
    const evil = [{ id: 'el-sol', name: '<img src=x onerror=alert(1)>', enabled: true }, ...difusores.slice(1)];
    const report = buildIncidentReport(input(events, { difusores: evil }));
    const md = renderMarkdown(report);
    expect(md).not.toMatch(/<script|<img/);
    expect(md).toContain('&lt;script&gt;alert(1)&lt;/script&gt; \\[x\\](javascript:alert(1)) \\| \\*');
    expect(md).toContain('### &lt;img src=x onerror=alert(1)&gt; (el-sol)');
    const html = renderHtml(report);
    expect(html).not.toMatch(/<script|<img/);
    expect(html).toContain('&lt;script&gt;alert(1)&lt;/script&gt;');
  });

  test('the grid is split into blocks of at most 18 cuts, as even as they can be', () => {
    expect(gridBlocks(Array.from({ length: 72 }, (_, i) => i)).map((b) => b.length)).toEqual([18, 18, 18, 18]);
    expect(gridBlocks(Array.from({ length: 42 }, (_, i) => i)).map((b) => b.length)).toEqual([14, 14, 14]);
    expect(gridBlocks(Array.from({ length: 19 }, (_, i) => i)).map((b) => b.length)).toEqual([10, 9]);
    expect(gridBlocks([])).toEqual([]);
  });
});

describe('times and errors in words', () => {
  test('a recorded error names a failure code: its Spanish words; otherwise nothing', () => {
    expect(errorInWords('la-voz: CONNECT_REFUSED: connect ECONNREFUSED 127.0.0.1:22102')).toBe('el servidor rechazó la conexión: ningún servicio escucha en el puerto (CONNECT_REFUSED)');
    expect(errorInWords('socket hang up')).toBeNull();
    expect(errorInWords(undefined)).toBeNull();
  });

  test('the zone in words with its offset; times without it where the report already names it', () => {
    expect(zoneInWords(Date.parse('2024-06-03T02:00:00Z'), { timezone: 'America/Mexico_City' })).toBe('hora del centro de México, UTC−06:00');
    expect(zoneInWords(Date.parse('2024-06-03T02:00:00Z'), { timezone: 'America/Tijuana' })).toBe('hora del noroeste de México, UTC−07:00');
    expect(zoneInWords(Date.parse('2024-06-03T02:00:00Z'), { timezone: 'Europe/Madrid', timezoneLabel: 'hora peninsular' })).toBe('hora peninsular, UTC+02:00');
    expect(timeInWords('2024-06-02T21:00:30-06:00', 'hora del centro de México, UTC−06:00')).toBe('2 de junio de 2024, 21:00:30');
    expect(timeInWords('2024-06-02T21:00:30-05:00', 'hora del centro de México, UTC−06:00')).toBe('2 de junio de 2024, 21:00:30 (UTC−05:00)');
  });
});

test('local times in words carry the offset', () => {
  expect(localTimeInWords('2024-06-02T21:00:30-06:00')).toBe('2 de junio de 2024, 21:00:30 (UTC−06:00)');
});
