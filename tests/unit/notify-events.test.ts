// Which notifications each ledger transition yields, from tables of journal sequences.
import { notificationKey, notificationsOfEvents, probeFailedNotification } from '../../src/notify/events.js';
import { applyEvent, EMPTY_LEDGER_STATE } from '../../src/ledger/rules.js';
import type { LedgerEvent } from '../../src/ledger/types.js';
import { aDifusor, aRegistry } from '../helpers/builders.js';

const registry = aRegistry([aDifusor('el-sol', { name: 'El Sol', url: 'https://elsol.example/' }), aDifusor('la-voz')], {
  blockAfterMisses: 2,
  instituteName: 'Instituto Electoral de Michoacán',
});
const at = '2024-06-03T02:20:00.000Z';
const failed = (cut: string, id = 'el-sol'): LedgerEvent => ({
  type: 'outcome', at, cut, id, outcome: 'failed', code: 'CONNECT_TIMEOUT', message: 'x', via: 'cut', seconds: 1, attempts: 1,
});
const delivered = (cut: string, id = 'el-sol', via: 'cut' | 'push' = 'cut'): LedgerEvent => ({
  type: 'outcome', at, cut, id, outcome: 'delivered', code: null, message: null, via, seconds: 1, attempts: 1,
});
const skipped = (cut: string): LedgerEvent => ({ type: 'outcome', at, cut, id: 'el-sol', outcome: 'skipped', code: 'blocked', message: null, via: 'cut', seconds: 0, attempts: 0 });
const cutEvent = (cut: string): LedgerEvent => ({ type: 'cut', at, cut, cutTime: at, package: `P_${cut}.tar.gz`, sha256: 'a'.repeat(64) });
const block = (by: 'auto' | 'manual' = 'auto'): LedgerEvent => ({ type: 'block', at, id: 'el-sol', reason: by === 'auto' ? 'auto: missed 2 consecutive cuts' : 'mantenimiento', by });
const unblock: LedgerEvent = { type: 'unblock', at, id: 'el-sol' };

const audited = (outcome: 'ok' | 'stale' | 'tampered' | 'misconfigured' | 'unreachable', expectedCut = '1', via: 'audit' | 'cut' = 'audit'): LedgerEvent => ({
  type: 'audit', at, id: 'el-sol', outcome, servedCut: outcome === 'unreachable' ? null : '0', expectedCut, problems: outcome === 'ok' ? [] : ['json/main.json: sha256 differs'], via, countsAsMiss: false,
});

const keysOf = (events: LedgerEvent[]) => notificationsOfEvents(registry, EMPTY_LEDGER_STATE, events).map(notificationKey);

function applyAll(state: typeof EMPTY_LEDGER_STATE, events: LedgerEvent[]) {
  return events.reduce(applyEvent, state);
}

describe('notifications of transitions', () => {
  test.each<[string, LedgerEvent[], LedgerEvent[], string[]]>([
    ['a first failure is a miss', [cutEvent('1')], [failed('1')], ['missed:el-sol:1']],
    ['the same cut failing again (a re-push) is not a second miss', [cutEvent('1'), failed('1')], [failed('1')], []],
    ['two misses then the block', [cutEvent('1'), failed('1'), cutEvent('2')], [failed('2'), block()], ['missed:el-sol:2', 'blocked:el-sol:2']],
    ['a blocked difusor skipped: nothing', [cutEvent('1'), failed('1'), block()], [cutEvent('2'), skipped('2')], []],
    ['a second block while blocked (reason updated): nothing', [cutEvent('1'), block()], [block('manual')], []],
    ['unblock of a blocked difusor', [cutEvent('1'), failed('1'), block()], [unblock], ['unblocked:el-sol:1']],
    ['unblock of an active one: nothing', [cutEvent('1')], [unblock], []],
    ['delivery after misses is a recovery', [cutEvent('1'), failed('1'), cutEvent('2')], [delivered('2')], ['recovered:el-sol:2']],
    ['delivery with no misses: nothing', [cutEvent('1')], [delivered('1')], []],
    ['late delivery of an older cut does not recover', [cutEvent('1'), cutEvent('2'), failed('2')], [delivered('1', 'el-sol', 'push')], []],
    ['a notice placed', [cutEvent('1'), block()], [{ type: 'notice_placed', at, id: 'el-sol', cut: '1', release: '1-aviso' }], ['notice_published:el-sol:1']],
    ['a first audit that fails', [cutEvent('1'), delivered('1')], [audited('stale')], ['audit_failed:el-sol:1']],
    ['a first audit that is ok: nothing', [cutEvent('1'), delivered('1')], [audited('ok')], []],
    ['the same failing outcome again: nothing', [cutEvent('1'), delivered('1'), audited('stale')], [audited('stale')], []],
    ['the same failing outcome on the next cut (cut --audit): nothing', [cutEvent('1'), audited('stale'), cutEvent('2')], [audited('stale', '2', 'cut')], []],
    ['a change to another failure', [cutEvent('1'), audited('misconfigured'), cutEvent('2')], [audited('tampered', '2')], ['audit_failed:el-sol:2']],
    ['failing, ok, failing again', [cutEvent('1'), audited('stale'), cutEvent('2')], [audited('ok', '2'), audited('stale', '2')], ['audit_failed:el-sol:2']],
    ['a difusor no longer in the registry: nothing', [cutEvent('1')], [failed('1', 'gone')], []],
  ])('%s', (_name, history, events, expected) => {
    expect(notificationsOfEvents(registry, applyAll(EMPTY_LEDGER_STATE, history), events).map(notificationKey)).toEqual(expected);
  });

  test('a notification carries the contract fields, in Spanish, the code in words', () => {
    const [n] = notificationsOfEvents(registry, applyAll(EMPTY_LEDGER_STATE, [cutEvent('20240602_2020')]), [failed('20240602_2020')]);
    expect(n).toEqual({
      event: 'missed',
      institute: 'Instituto Electoral de Michoacán',
      difusor: { id: 'el-sol', name: 'El Sol', url: 'https://elsol.example/' },
      cut: '20240602_2020',
      time: at,
      message:
        'El difusor El Sol no recibió el corte de las 20:20 del 2 de junio (20240602_2020): el servidor no respondió a tiempo (código CONNECT_TIMEOUT). ' +
        'Cortes seguidos sin recibir: 1 de 2 antes del bloqueo.',
      code: 'CONNECT_TIMEOUT',
    });
  });

  test('audit_failed: the outcome in words, what the site serves, the problems, and the outcome as code', () => {
    const [n] = notificationsOfEvents(registry, applyAll(EMPTY_LEDGER_STATE, [cutEvent('1')]), [audited('tampered')]);
    expect(n).toMatchObject({ event: 'audit_failed', cut: '1', code: 'tampered', difusor: { id: 'el-sol' } });
    expect(n.message).toBe(
      'La revisión del sitio público del difusor El Sol (https://elsol.example/) encontró que archivos de su sitio público no coinciden con los que entregó el IEM: la información fue alterada (tampered). El sitio muestra el corte 0, y debía mostrar el corte 1. Detalle técnico: json/main.json: sha256 differs.',
    );
  });

  test('probe_failed: keyed by the newest cut (none yet: "-"), problems in the message', () => {
    const n = probeFailedNotification(registry, registry.difusores[0], ['free space 3 GB is below the required 20 GB'], null, at);
    expect(notificationKey(n)).toBe('probe_failed:el-sol:-');
    expect(n.message).toBe('La prueba que hizo el IEM del servidor SFTP del difusor El Sol encontró problemas. Detalle técnico: free space 3 GB is below the required 20 GB.');
    expect(notificationKey(probeFailedNotification(registry, registry.difusores[0], [], '20240602_2020', at))).toBe('probe_failed:el-sol:20240602_2020');
  });

  test('a miss that blocks in the same run is marked, so its e-mail does not warn of the block; the blocked one lists the misses', () => {
    const history = [cutEvent('20240602_2000'), failed('20240602_2000'), cutEvent('20240602_2020')];
    const run = [failed('20240602_2020'), block()];
    const found = notificationsOfEvents(registry, applyAll(EMPTY_LEDGER_STATE, history), run, [...history, ...run]);
    expect(found.map(notificationKey)).toEqual(['missed:el-sol:20240602_2020', 'blocked:el-sol:20240602_2020']);
    expect(found[0]).toMatchObject({ caused_block: true });
    expect(found[0].message).toMatch(/Cortes seguidos sin recibir: 2 de 2; con este llegó al límite y quedó bloqueado\.$/);
    expect(found[1]).toMatchObject({
      blocked_by: 'auto',
      missed_cuts: [
        { cut: '20240602_2000', code: 'CONNECT_TIMEOUT' },
        { cut: '20240602_2020', code: 'CONNECT_TIMEOUT' },
      ],
    });
    expect(found[1].message).toBe('El difusor El Sol quedó bloqueado: no recibió 2 cortes seguidos. No recibirá resultados hasta que el IEM lo desbloquee.');
    // A miss in a run that does not block keeps the warning.
    const single = notificationsOfEvents(registry, applyAll(EMPTY_LEDGER_STATE, [cutEvent('20240602_2000')]), [failed('20240602_2000')]);
    expect(single[0].caused_block).toBeUndefined();
  });

  test('a manual block: the reason is the institute\'s, the public reason travels apart', () => {
    const manual: LedgerEvent = { type: 'block', at, id: 'el-sol', reason: 'mantenimiento, llamamos 21:05.', by: 'manual', publicReason: 'Aviso público.' };
    const [n] = notificationsOfEvents(registry, applyAll(EMPTY_LEDGER_STATE, [cutEvent('1')]), [manual]);
    expect(n).toMatchObject({ event: 'blocked', blocked_by: 'manual', reason: 'mantenimiento, llamamos 21:05.', public_reason: 'Aviso público.' });
    expect(n.message).toBe('El difusor El Sol quedó bloqueado por decisión del IEM. Motivo registrado: mantenimiento, llamamos 21:05. No recibirá resultados hasta que el IEM lo desbloquee.');
  });

  test('the same journal always yields the same keys (a replayed run finds what it queued)', () => {
    const history = [cutEvent('1'), failed('1'), cutEvent('2'), failed('2'), block()];
    expect(notificationsOfEvents(registry, EMPTY_LEDGER_STATE, history)).toEqual(notificationsOfEvents(registry, EMPTY_LEDGER_STATE, history));
    expect(keysOf(history)).toEqual(['missed:el-sol:1', 'missed:el-sol:2', 'blocked:el-sol:2']);
  });
});
