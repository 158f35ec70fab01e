// The incident report's model and its text renderers, from journal tables: cells, miss streaks,
// availability, medians, --from/--to, blocks, extra event kinds, CSV quoting.
import { buildIncidentReport, cellOf, type ReportInput } from '../../src/report/model.js';
import { csvField, CSV_HEADER, renderCsv, renderMarkdown } from '../../src/report/render-text.js';
import { localTimeInWords } from '../../src/words/time.js';
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
  ] as Array<[string, Outcome[], string, string | null]>)('%s', (_name, outcomes, expected, code) => {
    const cell = cellOf('x', '20240602_2100', outcomes, false);
    expect([cell.outcome, cell.error_code]).toEqual([expected, code]);
  });

  test('a withdrawn cut is withdrawn whatever was recorded', () => {
    expect(cellOf('x', '20240602_2100', [d('delivered', '21:00')], true).outcome).toBe('withdrawn');
  });
});

describe('buildIncidentReport', () => {
  const report = buildIncidentReport(input(night()));
  const byId = Object.fromEntries(report.difusores.map((d) => [d.id, d]));

  test('per difusor: targeted, delivered, missed, skipped, availability, median and max seconds', () => {
    const pick = (id: string) => {
      const d = byId[id];
      return [d.targeted, d.delivered, d.delivered_late, d.missed, d.skipped, d.availability_pct, d.median_seconds, d.max_seconds];
    };
    expect(pick('el-sol')).toEqual([6, 6, 0, 0, 0, 100, 2.5, 10]);
    expect(pick('la-voz')).toEqual([5, 2, 0, 3, 1, 40, 4.5, 6]);
    expect(pick('tv-norte')).toEqual([0, 0, 0, 0, 2, null, null, null]);
  });

  test('per cut: delivered of targeted', () => {
    expect(report.cuts.map((c) => [c.id.slice(9), c.delivered, c.targeted, c.skipped])).toEqual([
      ['2040', 2, 2, 1],
      ['2100', 1, 2, 1],
      ['2110', 1, 2, 0],
      ['2120', 1, 2, 0],
      ['2130', 1, 1, 1],
      ['2140', 2, 2, 0],
    ]);
    expect(report.cuts[0].time).toBe('2024-06-02T20:40:00-06:00');
    expect(report.totals).toEqual({ cuts: 6, difusores: 3, targeted: 11, delivered: 8, missed: 3, availability_pct: 72.7, blocks: 1 });
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
    expect(ranged.period).toEqual({ from: '20240602_2110', to: '20240602_2120' });
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

  test('an id only in the journal (removed from the registry) is still reported', () => {
    const events: LedgerEvent[] = [cutEvent('21:00'), outcome('21:00', 'old-one', 'delivered')];
    const old = buildIncidentReport(input(events)).difusores.find((d) => d.id === 'old-one');
    expect(old).toMatchObject({ in_registry: false, delivered: 1 });
  });

  test('an event kind from another branch (a retraction) marks its cut withdrawn and is listed', () => {
    const retract = { type: 'retract', at: at('21:50'), cut: '20240602_2140', reason: 'publicado por error' } as unknown as LedgerEvent;
    const r = buildIncidentReport(input([...night(), retract]));
    expect(r.cuts.find((c) => c.id === '20240602_2140')?.withdrawn).toBe(true);
    expect(r.cells.filter((c) => c.cut === '20240602_2140').every((c) => c.outcome === 'withdrawn')).toBe(true);
    expect(r.general.map((g) => g.summary)).toEqual(['Corte 20240602_2140 retirado: publicado por error']);
  });

  test('an empty journal gives an empty report, not an error', () => {
    const r = buildIncidentReport(input([]));
    expect([r.cuts, r.cells, r.totals.availability_pct, r.period]).toEqual([[], [], null, { from: null, to: null }]);
  });

  test('names the institute by institute_name when the registry has it', () => {
    expect(buildIncidentReport(input([], { institute: { short: 'IEM', name: 'Instituto Electoral de Michoacán' } })).institute).toEqual({
      short: 'IEM',
      name: 'Instituto Electoral de Michoacán',
    });
  });
});

describe('incidents from audits, notices and notifications', () => {
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
      ['audit', cutId('20:40'), 'Revisión del sitio público: volvió a servir el último corte sin alteraciones (antes: tampered)'],
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

  test('notices placed and failed, each a line with its cut', () => {
    const lines = eventLines(
      [
        { type: 'notice_failed', at: at('21:20', 50), id: 'la-voz', cut: cutId('21:20'), error: 'la-voz: CONNECT_TIMEOUT' },
        { type: 'notice_placed', at: at('21:30', 50), id: 'la-voz', cut: cutId('21:30'), release: 'aviso-20240602_2130' },
      ],
      'la-voz',
    );
    expect(lines).toEqual([
      ['notice_failed', cutId('21:20'), 'No se pudo publicar el aviso de suspensión (se reintenta en el siguiente corte): la-voz: CONNECT_TIMEOUT'],
      ['notice_placed', cutId('21:30'), 'Aviso de suspensión publicado en su portal (aviso-20240602_2130)'],
    ]);
  });

  test('one line per notification sent or failed, naming channel and event in Spanish; queue and attempt are not lines', () => {
    const key = `missed:la-voz:${cutId('21:00')}`;
    const lines = eventLines(
      [
        { type: 'notify_queued', at: at('21:00', 40), key, channel: 'email', notification: {} as never },
        { type: 'notify_attempt', at: at('21:00', 41), key, channel: 'email' },
        { type: 'notify_failed', at: at('21:00', 42), key, channel: 'email', error: 'SMTP 127.0.0.1:25: ECONNREFUSED' },
        { type: 'notify_sent', at: at('21:00', 43), key, channel: 'command', detail: null },
        { type: 'notify_sent', at: at('21:10', 43), key: 'blocked:la-voz:-', channel: 'webhook', detail: null },
      ],
      'la-voz',
    );
    expect(lines).toEqual([
      ['notify_failed', cutId('21:00'), 'Notificación no enviada por correo electrónico (se reintenta en la siguiente ejecución): corte no recibido — SMTP 127.0.0.1:25: ECONNREFUSED'],
      ['notify_sent', cutId('21:00'), 'Notificación enviada por comando: corte no recibido'],
      ['notify_sent', null, 'Notificación enviada por webhook: bloqueo'],
    ]);
  });

  test('a notification whose key is not event:difusor:cut is no line rather than a wrong one', () => {
    const r = buildIncidentReport(input([...night(), { type: 'notify_sent', at: at('21:00', 43), key: 'garbled', channel: 'email', detail: null }]));
    expect(r.difusores.flatMap((d) => d.incidents).filter((i) => i.kind === 'event')).toEqual([]);
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

  test('header exactly as the contract says, one CRLF row per (difusor, cut), skipped included, quoted messages', () => {
    const events = night();
    (events[6] as Outcome).message = 'la-voz (127.0.0.1:22): "timeout", retry later';
    const csv = renderCsv(buildIncidentReport(input(events)));
    const lines = csv.split('\r\n');
    expect(lines[0].startsWith('difusor,cut,outcome,error_code,seconds,attempts')).toBe(true);
    expect(lines[0]).toBe(CSV_HEADER.join(','));
    expect(lines).toHaveLength(1 + 18 + 1); // header, 3 × 6 rows, the empty string after the last CRLF
    expect(lines).toContain('tv-norte,20240602_2040,disabled,,,,2024-06-02T20:40:00-06:00,');
    expect(lines).toContain('la-voz,20240602_2100,failed,CONNECT_TIMEOUT,5,2,2024-06-02T21:00:00-06:00,"la-voz (127.0.0.1:22): ""timeout"", retry later"');
  });
});

describe('Markdown', () => {
  test('tables and incidents in Spanish', () => {
    const md = renderMarkdown(buildIncidentReport(input(night())));
    expect(md).toContain('| la-voz | La Voz | 5 | 2 | 0 | 3 | 1 | 40,0 | 4,50 | 6,00 |');
    expect(md).toContain('| difusor | 02/06 20:40 | 02/06 21:00 | 02/06 21:10 | 02/06 21:20 | 02/06 21:30 | 02/06 21:40 |');
    expect(md).toContain('| la-voz | E | F | F | F | B | E |');
    expect(md).toContain(
      'Perdió 3 cortes seguidos (20240602_2100 a 20240602_2120). CONNECT_TIMEOUT en 1 corte: el servidor no respondió a tiempo. ' +
        'CONNECT_REFUSED en 2 cortes: el servidor rechazó la conexión: ningún servicio escucha en el puerto. ' +
        'Se recuperó en el corte 20240602_2140.',
    );
    expect(md).toContain('Bloqueado automáticamente: perdió 3 cortes consecutivos.');
  });
});

test('local times in words carry the offset', () => {
  expect(localTimeInWords('2024-06-02T21:00:30-06:00')).toBe('2 de junio de 2024, 21:00:30 (UTC−06:00)');
});
