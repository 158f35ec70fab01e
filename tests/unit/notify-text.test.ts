// The Spanish people read: e-mail Subject and body, codes in words, the notice and its placeholders,
// times with the zone in words. Fixed phrases are asserted, so a copy pass that breaks them shows here.
import { emailFor } from '../../src/words/email.js';
import { auditTodo, describeAuditOutcome } from '../../src/words/audit.js';
import { describeFailure, failureInWords, whatToDo } from '../../src/words/failures.js';
import { cutInWords, formatTime, zoneInWords } from '../../src/words/time.js';
import { publicReasonOf } from '../../src/words/notice.js';
import type { Notification } from '../../src/ledger/notification.js';
import { noticesDue } from '../../src/notice/decide.js';
import { noticeValues, renderNotice, renderNoticeJson } from '../../src/notice/release.js';
import { fillNoticeTemplate } from '../../src/notice/template.js';
import { unknownPlaceholders } from '../../src/registry/notice-placeholders.js';
import { FAILURE_CODES } from '../../src/core/failure-codes.js';
import { aDifusor, aRegistry } from '../helpers/builders.js';

const difusor = aDifusor('el-sol', {
  name: 'El Sol de Morelia',
  url: 'https://elsol.example/prep/',
  contacts: [{ name: 'Ana Pérez', email: 'ana@elsol.example', phone: '+52 443 000 0000' }],
});
const registry = aRegistry([difusor], {
  instituteName: 'Instituto Electoral de Michoacán',
  contact: { name: 'Mesa del PREP', email: 'mesa-prep@iem.example', phone: '+52 443 322 1400' },
  notify: { timeoutS: 10, email: { smtp: { host: 'smtp', port: 25, tls: 'none' }, from: 'prep@iem.example', to: ['mesa-prep@iem.example'], difusorContacts: true } },
});
const base = { institute: 'Instituto Electoral de Michoacán', difusor: { id: 'el-sol', name: 'El Sol de Morelia', url: 'https://elsol.example/prep/' }, time: '2024-06-03T02:20:05.000Z' };
const CODES = [...FAILURE_CODES, 'REMOTE_DIR_MISSING', 'ROLLBACK_REFUSED'];
/** Second person plural (ustedes) and "el Instituto" where the short name belongs: the copy pass removed both. */
const PLURAL_IMPERATIVE = /\b(revisen|confirmen|corrijan|comuníquense|verifiquen|modifiquen|avisen|restauren|configuren|pidan|liberen|creen|den)\b/i;

describe('times', () => {
  test('the zone in words with its offset on that date, never an IANA name', () => {
    expect(formatTime('2024-06-03T02:20:05.000Z', registry)).toBe('2 de junio de 2024 a las 20:20 (hora del centro de México, UTC−06:00)');
    expect(zoneInWords('2024-01-15T12:00:00Z', { timezone: 'America/Cancun' })).toBe('hora del sureste de México, UTC−05:00');
    expect(zoneInWords('2024-01-15T12:00:00Z', { timezone: 'America/Tijuana' })).toBe('hora del noroeste de México, UTC−08:00');
    // Daylight saving time changes the offset, not the words.
    expect(zoneInWords('2024-07-15T12:00:00Z', { timezone: 'America/Tijuana' })).toBe('hora del noroeste de México, UTC−07:00');
    expect(zoneInWords('2024-01-15T12:00:00Z', { timezone: 'America/Bogota' })).toBe('hora de Bogota, UTC−05:00');
    expect(zoneInWords('2024-01-15T12:00:00Z', { timezone: 'Europe/Madrid', timezoneLabel: 'hora peninsular' })).toBe('hora peninsular, UTC+01:00');
    expect(formatTime('2024-06-03T02:20:05.000Z', registry)).not.toMatch(/America\//);
  });

  test('a cut id as a person says it', () => {
    expect(cutInWords('20240602_2020')).toBe('las 20:20 del 2 de junio');
    expect(cutInWords('20240602_2020', { year: true })).toBe('las 20:20 del 2 de junio de 2024');
  });
});

describe('codes in words', () => {
  test.each(CODES)('%s has its own words, in usted, the code at the end without double parentheses', (code) => {
    expect(describeFailure(code)).not.toContain('no clasificado');
    expect(describeFailure(code)).toMatch(new RegExp(` \\(código ${code}\\)$`));
    expect(failureInWords(code)).not.toMatch(/[()]/);
    expect(describeFailure(code, 'IEM')).not.toMatch(/\) \(/);
    expect(whatToDo(code, 'IEM')).not.toMatch(PLURAL_IMPERATIVE);
    expect(`${failureInWords(code, 'IEM')} ${whatToDo(code, 'IEM')}`).not.toContain('Instituto');
  });

  test('the institute by its short name, with its article', () => {
    expect(describeFailure('CONNECT_REFUSED', 'IEM')).toBe('el servidor rechazó la conexión: ningún servicio escucha en el puerto (código CONNECT_REFUSED)');
    expect(failureInWords('AUTH_FAILED', 'IEM')).toBe('el servidor rechazó el acceso de la cuenta del IEM');
    expect(whatToDo('HOST_KEY_MISMATCH', 'IEM')).toMatch(/^confirme por teléfono con el IEM si cambió/);
    expect(whatToDo('CONNECT_TIMEOUT', 'IEM')).toBe('revise que el servidor esté encendido y que el cortafuegos permita la conexión desde la dirección del IEM');
  });

  test.each(['stale', 'tampered', 'misconfigured', 'unreachable'] as const)('audit outcome %s has its own words, in usted', (outcome) => {
    const others = (['stale', 'tampered', 'misconfigured', 'unreachable'] as const).filter((o) => o !== outcome).map((o) => describeAuditOutcome(o));
    expect(others).not.toContain(describeAuditOutcome(outcome));
    expect(describeAuditOutcome(outcome, 'IEM')).toMatch(new RegExp(`[^)] \\(${outcome}\\)$`));
    expect(auditTodo(outcome, 'IEM')).not.toMatch(PLURAL_IMPERATIVE);
    expect(`${describeAuditOutcome(outcome, 'IEM')} ${auditTodo(outcome, 'IEM')}`).not.toContain('Instituto');
  });
});

describe('e-mail', () => {
  const missed: Notification = {
    ...base,
    event: 'missed',
    cut: '20240602_2020',
    message: 'El difusor El Sol de Morelia no recibió el corte de las 20:20 del 2 de junio (20240602_2020): el servidor no respondió a tiempo (código CONNECT_TIMEOUT). Cortes seguidos sin recibir: 1 de 3 antes del bloqueo.',
    code: 'CONNECT_TIMEOUT',
  };

  test('a miss: Subject with the difusor and the cut in local time and id; body in usted, codes in words, whom to call', () => {
    const { subject, text } = emailFor(registry, missed);
    expect(subject).toBe('[PREP IEM] El difusor El Sol de Morelia no recibió el corte de las 20:20 del 2 de junio (20240602_2020)');
    expect(subject).not.toMatch(/corte.*corte/);
    expect(text).toContain('Instituto Electoral de Michoacán (IEM)');
    expect(text).toContain('Corte: las 20:20 del 2 de junio de 2024 (hora del centro de México, UTC−06:00), id 20240602_2020');
    expect(text).toContain('Registrado el 2 de junio de 2024 a las 20:20 (hora del centro de México, UTC−06:00)');
    expect(text).toContain('el servidor no respondió a tiempo (código CONNECT_TIMEOUT)');
    expect(text).toContain('Qué hacer: Revise que el servidor esté encendido');
    expect(text).toContain('Si la falla sigue hasta sumar 3 cortes seguidos sin recibir, el difusor quedará bloqueado.');
    expect(text).toContain('  - Ana Pérez, +52 443 000 0000, ana@elsol.example');
    expect(text).toContain('Mesa del PREP del IEM: Mesa del PREP, +52 443 322 1400, mesa-prep@iem.example');
    expect(text).not.toMatch(PLURAL_IMPERATIVE);
    expect(text).not.toMatch(/America\/Mexico_City/);
  });

  test('the miss that blocked it in the same run carries no "will be blocked" warning', () => {
    const { text } = emailFor(registry, { ...missed, caused_block: true });
    expect(text).not.toContain('Si la falla sigue');
    expect(text).not.toContain('quedará bloqueado');
  });

  test('blocked: "El difusor … quedó bloqueado", the missed cuts with their errors, what the public reads', () => {
    const n: Notification = {
      ...base,
      event: 'blocked',
      cut: '20240602_2040',
      message: 'El difusor El Sol de Morelia quedó bloqueado: no recibió 3 cortes seguidos. No recibirá resultados hasta que el IEM lo desbloquee.',
      blocked_by: 'auto',
      missed_cuts: [
        { cut: '20240602_2000', code: 'CONNECT_REFUSED' },
        { cut: '20240602_2020', code: 'CONNECT_TIMEOUT' },
        { cut: '20240602_2040', code: 'stale', audit: true },
      ],
    };
    const { subject, text } = emailFor(registry, n);
    expect(subject).toBe('[PREP IEM] El difusor El Sol de Morelia quedó bloqueado tras el corte de las 20:40 del 2 de junio (20240602_2040)');
    expect(text).toContain('Cortes que no recibió:');
    expect(text).toContain('  - las 20:00 del 2 de junio de 2024 (20240602_2000): el servidor rechazó la conexión: ningún servicio escucha en el puerto (código CONNECT_REFUSED)');
    expect(text).toContain('  - las 20:20 del 2 de junio de 2024 (20240602_2020): el servidor no respondió a tiempo (código CONNECT_TIMEOUT)');
    expect(text).toContain('  - las 20:40 del 2 de junio de 2024 (20240602_2040): la revisión de su sitio encontró que su sitio público no muestra el último corte');
    expect(text).toContain('Motivo que el aviso en su portal muestra al público: «Este sitio no recibió 3 cortes consecutivos de resultados');
    expect(text).toContain('Qué hacer: Corrija la falla y comuníquese con el IEM para solicitar el desbloqueo.');
    expect(text).not.toMatch(PLURAL_IMPERATIVE);
  });

  test('a manual block: the internal reason for the institute, the public reason apart', () => {
    const n: Notification = { ...base, event: 'blocked', cut: null, message: 'm', blocked_by: 'manual', reason: 'server down, called 21:05', public_reason: 'Su sitio publicó cifras alteradas.' };
    const { subject, text } = emailFor(registry, n);
    expect(subject).toBe('[PREP IEM] El difusor El Sol de Morelia quedó bloqueado');
    expect(text).toContain('Corte: sin corte todavía');
    expect(text).toContain('Motivo que el aviso en su portal muestra al público: «Su sitio publicó cifras alteradas».');
    expect(text).toContain('Comuníquese con el IEM para conocer el motivo y los pasos para el desbloqueo.');
  });

  test('unblocked, recovered, notice: agreement and one register', () => {
    const unblocked = emailFor(registry, { ...base, event: 'unblocked', cut: '20240602_2100', message: 'm' });
    expect(unblocked.subject).toBe('[PREP IEM] El difusor El Sol de Morelia fue desbloqueado (último corte: las 21:00 del 2 de junio, 20240602_2100)');
    expect(unblocked.text).toContain('Qué hacer: Verifique que su portal vuelva a mostrar los resultados con el siguiente corte.');
    expect(emailFor(registry, { ...base, event: 'recovered', cut: '20240602_2100', message: 'm' }).subject).toBe(
      '[PREP IEM] El difusor El Sol de Morelia volvió a recibir el corte de las 21:00 del 2 de junio (20240602_2100)',
    );
    expect(emailFor(registry, { ...base, event: 'notice_published', cut: '20240602_2100', message: 'm' }).text).toContain('No modifique el aviso');
  });

  test('audit_failed: Subject and what to do per outcome, the institute as "el IEM"', () => {
    const n: Notification = { ...base, event: 'audit_failed', cut: '20240602_2020', message: 'm', code: 'stale' };
    const { subject, text } = emailFor(registry, n);
    expect(subject).toBe('[PREP IEM] La revisión del sitio del difusor El Sol de Morelia encontró problemas (corte de las 20:20 del 2 de junio, 20240602_2020)');
    expect(text).toContain('Qué hacer: Revise que el sitio se sirva desde la carpeta donde el IEM entrega los cortes');
    expect(emailFor(registry, { ...n, code: 'tampered' }).text).toContain('Qué hacer: Restaure los archivos tal como los entregó el IEM, sin modificación alguna, y avise al IEM qué los cambió.');
  });

  test('probe_failed: Subject and the requirements in what to do', () => {
    const { subject, text } = emailFor(registry, { ...base, event: 'probe_failed', cut: null, message: 'm' });
    expect(subject).toBe('[PREP IEM] El servidor del difusor El Sol de Morelia no cumple los requisitos de la convocatoria');
    expect(text).toContain('la convocatoria pide al menos 20 GB libres, 40 MB/s de subida por SFTP y permiso de escritura para la cuenta del IEM');
    expect(text).toContain('pida al IEM repetir la prueba');
  });

  test('without a desk contact, the desk addresses stand in', () => {
    const { text } = emailFor({ ...registry, contact: undefined }, missed);
    expect(text).toContain('Mesa del PREP del IEM: mesa-prep@iem.example');
  });
});

describe('notice', () => {
  const due = { difusor, since: '2024-06-03T03:00:00.000Z', reason: 'auto: missed 3 consecutive cuts', by: 'auto' as const, publicReason: null, failures: 0 };
  const manual = { ...due, reason: 'server down for maintenance, called 21:05.', by: 'manual' as const };
  const linked = { ...registry, instituteUrl: 'https://prep.iem.example/', publicList: { dir: '/srv/publico', url: 'https://iem.example/prep/difusores.html' } };

  test('the default is Spanish, lang="es", "ya no es un difusor válido", since when (zone in words) and why, no results', () => {
    const html = renderNotice(registry, due, '20240602_2100');
    expect(html).toContain('<html lang="es">');
    expect(html).toContain('Instituto Electoral de Michoacán (IEM)');
    expect(html).toContain('El Sol de Morelia');
    expect(html).toContain('ya no es un difusor válido');
    expect(html).toContain('2 de junio de 2024 a las 21:00 (hora del centro de México, UTC−06:00)');
    expect(html).not.toContain('America/Mexico_City');
    expect(html).toContain('Este sitio no recibió 3 cortes consecutivos de resultados');
    expect(html).toContain('no muestra resultados');
  });

  test('a manual block shows the public reason only: the default for the cause, or --public-reason; never ".."', () => {
    const html = renderNotice(registry, manual, null);
    expect(html).not.toContain('server down');
    expect(html).toContain('Este sitio incumplió disposiciones de la convocatoria para los difusores del PREP, por lo que ya no es un difusor válido.');
    const given = renderNotice(registry, { ...manual, publicReason: 'Su sitio publicó cifras distintas a las del PREP oficial.' }, null);
    expect(given).toContain('Su sitio publicó cifras distintas a las del PREP oficial.');
    expect(given).not.toContain('..');
    expect(given).not.toContain('server down');
    // A template writing its own full stop after {{reason}}: one stop.
    const reg = { ...registry, notice: { template: '/t.html', html: '<p>Motivo: {{reason}}.</p>' } };
    expect(renderNotice(reg, { ...manual, publicReason: 'Sitio alterado.' }, null)).toBe('<p>Motivo: Sitio alterado.</p>');
    expect(publicReasonOf({ by: 'manual', reason: 'x', publicReason: 'Sitio alterado...' })).toBe('Sitio alterado.');
  });

  test('links the institute\'s PREP and the official list when the registry gives them, and only then', () => {
    const html = renderNotice(linked, due, null);
    expect(html).toContain('<a href="https://prep.iem.example/">Sitio oficial del PREP del IEM</a>');
    expect(html).toContain('<a href="https://iem.example/prep/difusores.html">Lista de difusores oficiales del PREP</a>');
    expect(renderNotice(registry, due, null)).not.toContain('<a ');
  });

  test('json/main.json says so in data: aviso, difusor_valido false, institute, desde', () => {
    const doc = JSON.parse(renderNoticeJson(linked, due, '20240602_2100'));
    expect(Object.keys(doc)).toEqual(['aviso', 'difusor_valido', 'institute', 'desde']);
    expect(doc).toMatchObject({ difusor_valido: false, institute: 'Instituto Electoral de Michoacán', desde: '2024-06-02T21:00:00-06:00' });
    expect(doc.aviso).toContain('El Sol de Morelia ya no es un difusor válido del PREP del IEM');
    expect(doc.aviso).toContain('https://prep.iem.example/');
    expect(doc.aviso).not.toContain('..');
    expect(JSON.parse(renderNoticeJson(registry, manual, null)).aviso).not.toContain('server down');
  });

  test('a template: placeholders filled and escaped; unknown ones found', () => {
    expect(unknownPlaceholders('{{institute}} {{ difusor }} {{dfusor}} {{x}} {{dfusor}} {{list_url}}')).toEqual(['dfusor', 'x']);
    const values = { ...noticeValues(registry, due, null), institute: 'IEM', difusor: 'A & <B>' };
    expect(fillNoticeTemplate('<p>{{ difusor }} / {{institute}}</p>', values)).toBe('<p>A &amp; &lt;B&gt; / IEM</p>');
  });

  test('due: blocked and enabled, not yet placed; the public reason and the cause travel with it', () => {
    const at = '2024-06-03T03:00:00.000Z';
    const disabled = aDifusor('off', { enabled: false });
    const events = [
      { type: 'block' as const, at, id: 'el-sol', reason: 'r', by: 'manual' as const, publicReason: 'Aviso público.' },
      { type: 'block' as const, at, id: 'off', reason: 'r', by: 'manual' as const },
    ];
    expect(noticesDue([difusor, disabled], events).map((d) => [d.difusor.id, d.by, d.publicReason])).toEqual([['el-sol', 'manual', 'Aviso público.']]);
    expect(noticesDue([difusor], [...events, { type: 'notice_placed', at, id: 'el-sol', cut: null, release: 'aviso' }])).toEqual([]);
    expect(noticesDue([difusor], [...events, { type: 'notice_failed', at, id: 'el-sol', cut: null, error: 'e' }])[0].failures).toBe(1);
  });
});
