// The Spanish people read: e-mail Subject and body, codes in words, the notice and its placeholders.
import { emailFor } from '../../src/words/email.js';
import { describeAuditOutcome } from '../../src/words/audit.js';
import { describeFailure } from '../../src/words/failures.js';
import type { Notification } from '../../src/ledger/notification.js';
import { noticesDue } from '../../src/notice/decide.js';
import { renderNotice } from '../../src/notice/release.js';
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
  notify: { timeoutS: 10, email: { smtp: { host: 'smtp', port: 25, tls: 'none' }, from: 'prep@iem.example', to: ['mesa-prep@iem.example'], difusorContacts: true } },
});
const base = { institute: 'Instituto Electoral de Michoacán', difusor: { id: 'el-sol', name: 'El Sol de Morelia', url: 'https://elsol.example/prep/' }, time: '2024-06-03T02:20:05.000Z' };

describe('e-mail', () => {
  test('a miss: Subject names difusor and cut; body: institute, cut, the code in words, what to do, whom to call', () => {
    const n: Notification = { ...base, event: 'missed', cut: '20240602_2020', message: 'El Sol de Morelia no recibió el corte 20240602_2020: el servidor no respondió a tiempo (CONNECT_TIMEOUT).', code: 'CONNECT_TIMEOUT' };
    const { subject, text } = emailFor(registry, n);
    expect(subject).toBe('[PREP IEM] El Sol de Morelia: no recibió el corte — corte 20240602_2020');
    expect(text).toContain('Instituto Electoral de Michoacán');
    expect(text).toContain('Corte: 20240602_2020');
    expect(text).toContain('Hora: 2 de junio de 2024 a las 20:20 (America/Mexico_City)');
    expect(text).toContain('el servidor no respondió a tiempo (CONNECT_TIMEOUT)');
    expect(text).toContain('Qué hacer: Revisen que el servidor esté encendido');
    expect(text).toContain('Si la falla sigue 3 cortes seguidos, el difusor será bloqueado.');
    expect(text).toContain('  - Ana Pérez, +52 443 000 0000, ana@elsol.example');
    expect(text).toContain('Mesa del PREP del Instituto: mesa-prep@iem.example');
  });

  test('a block without a cut yet still names the difusor', () => {
    const { subject, text } = emailFor(registry, { ...base, event: 'blocked', cut: null, message: 'm' });
    expect(subject).toBe('[PREP IEM] El Sol de Morelia: bloqueado');
    expect(text).toContain('Corte: sin corte');
    expect(text).toContain('solicitar el desbloqueo');
  });

  test('audit_failed: Subject and what to do per outcome, the outcome in words', () => {
    const n: Notification = { ...base, event: 'audit_failed', cut: '20240602_2020', message: 'm', code: 'stale' };
    const { subject, text } = emailFor(registry, n);
    expect(subject).toBe('[PREP IEM] El Sol de Morelia: la revisión de su sitio público encontró problemas — corte 20240602_2020');
    expect(text).toContain('Instituto Electoral de Michoacán');
    expect(text).toContain('Qué hacer: Revisen que el sitio se sirva desde la carpeta donde el Instituto entrega los cortes');
    const tampered = emailFor(registry, { ...n, code: 'tampered' }).text;
    expect(tampered).toContain('Qué hacer: Restauren los archivos tal como los entregó el Instituto');
  });

  test.each(['stale', 'tampered', 'misconfigured', 'unreachable'] as const)('audit outcome %s has its own words', (outcome) => {
    const others = (['stale', 'tampered', 'misconfigured', 'unreachable'] as const).filter((o) => o !== outcome).map(describeAuditOutcome);
    expect(others).not.toContain(describeAuditOutcome(outcome));
    expect(describeAuditOutcome(outcome)).toMatch(new RegExp(`\\(${outcome}\\)$`));
  });

  test('probe_failed: Subject and the requirements in what to do', () => {
    const { subject, text } = emailFor(registry, { ...base, event: 'probe_failed', cut: null, message: 'm' });
    expect(subject).toBe('[PREP IEM] El Sol de Morelia: su servidor no cumple los requisitos de la convocatoria');
    expect(text).toContain('se requieren al menos 20 GB libres, 40 MB/s de subida por SFTP');
  });

  test.each([...FAILURE_CODES, 'REMOTE_DIR_MISSING', 'ROLLBACK_REFUSED'])('%s has its own words', (code) => {
    expect(describeFailure(code)).not.toContain('no clasificado');
    expect(describeFailure(code)).toMatch(new RegExp(`\\(${code}\\)$`));
  });
});

describe('notice', () => {
  test('the default is Spanish, lang="es", names institute, difusor, since when and why, and holds no results', () => {
    const html = renderNotice(registry, { difusor, since: '2024-06-03T03:00:00.000Z', reason: 'auto: missed 3 consecutive cuts', failures: 0 }, '20240602_2100');
    expect(html).toContain('<html lang="es">');
    expect(html).toContain('Instituto Electoral de Michoacán');
    expect(html).toContain('El Sol de Morelia');
    expect(html).toContain('2 de junio de 2024 a las 21:00');
    expect(html).toContain('no recibió 3 cortes consecutivos de resultados');
    expect(html).toContain('no muestra resultados');
  });

  test('a template: placeholders filled and escaped; unknown ones found', () => {
    expect(unknownPlaceholders('{{institute}} {{ difusor }} {{dfusor}} {{x}} {{dfusor}}')).toEqual(['dfusor', 'x']);
    const values = { institute: 'IEM', institute_short: 'IEM', difusor: 'A & <B>', difusor_id: 'a', url: '', since: 's', reason: 'r', cut: 'c' };
    expect(fillNoticeTemplate('<p>{{ difusor }} / {{institute}}</p>', values)).toBe('<p>A &amp; &lt;B&gt; / IEM</p>');
  });

  test('due: blocked and enabled, not yet placed', () => {
    const at = '2024-06-03T03:00:00.000Z';
    const disabled = aDifusor('off', { enabled: false });
    const events = [
      { type: 'block' as const, at, id: 'el-sol', reason: 'r', by: 'manual' as const },
      { type: 'block' as const, at, id: 'off', reason: 'r', by: 'manual' as const },
    ];
    expect(noticesDue([difusor, disabled], events).map((d) => d.difusor.id)).toEqual(['el-sol']);
    expect(noticesDue([difusor], [...events, { type: 'notice_placed', at, id: 'el-sol', cut: null, release: 'aviso' }])).toEqual([]);
    expect(noticesDue([difusor], [...events, { type: 'notice_failed', at, id: 'el-sol', cut: null, error: 'e' }])[0].failures).toBe(1);
  });
});
