// The kit renderer: every placeholder filled, values safe inside the shell scripts, the chroot that
// makes the SFTP account see apply_dir as remote_dir, a kit by delivery mode (site: no prep-apply),
// two accounts that agree across units, crontab, sshd snippet, README and instalar.sh, the
// institute's login key as a `restrict` authorized_keys line, and the README's Spanish.
import { PrepPushError } from '../../src/core/errors.js';
import { authorizedKeysLine, chrootOf, fillTemplate, KIT_FILES, quoteForShellSingleQuotes, renderKit, type KitInput } from '../../src/kit/render-kit.js';
import { readKitTemplates } from '../../src/kit/templates-dir.js';
import type { Difusor } from '../../src/registry/types.js';
import { aDifusor } from '../helpers/builders.js';

const LOGIN_KEY = 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIBbeTSRFeF9+P9WoXW6NFjsdcrH1lQ8OvqPFIpTv5I8s';

async function render(difusor: Partial<Difusor>, extra: Partial<KitInput> = {}): Promise<Record<string, { content: string; mode: number }>> {
  const files = renderKit({
    institute: 'IEM',
    instituteName: 'Instituto Electoral de Michoacán',
    difusor: aDifusor('el-sol', { name: 'El Sol de Morelia', username: 'iem', remoteDir: '/prep', ...difusor }),
    allowedSigners: 'IEM namespaces="prep-push" ssh-ed25519 AAAA\n',
    loginKey: LOGIN_KEY,
    templates: await readKitTemplates(),
    ...extra,
  });
  return Object.fromEntries(files.map((f) => [f.name, { content: f.content, mode: f.mode }]));
}

/** What the Spanish texts must not say: English left over, or the institute's name without its article. */
function expectSpanishForTheInstitute(text: string): void {
  expect(text).not.toMatch(/\b(de|a) IEM\b/);
  expect(text).not.toMatch(/(^|[.:|] )IEM (deja|entrega|publica|firma|envía)/m);
  expect(text).not.toMatch(/\b(the|full package|applied cut|refusing|does not|is missing|you)\b/i);
  expect(text).not.toMatch(/\bustedes\b|\bvosotros\b|\btú\b/i);
}

describe('the kit renderer', () => {
  it('fills every placeholder of every template of a package kit and adds allowed_signers and authorized_keys', async () => {
    const byName = await render({ applyDir: '/srv/sftp/iem/prep', applyKeepReleases: 5 });
    expect(Object.keys(byName)).toEqual([...KIT_FILES.package.map((f) => f.name), 'allowed_signers', 'authorized_keys']);
    for (const file of Object.values(byName)) expect(file.content).not.toMatch(/\{\{|\}\}/);
    expect(byName['prep-apply'].mode).toBe(0o755);
    expect(byName['instalar.sh'].mode).toBe(0o755);
    expect(byName['prep-apply'].content).toContain("APPLY_DIR='/srv/sftp/iem/prep'");
    expect(byName['prep-apply'].content).toContain("KEEP='5'");
    expect(byName['prep-apply'].content).toContain("PRINCIPAL='IEM'");
    expect(byName['sshd_config.txt'].content).toContain('ChrootDirectory /srv/sftp/iem\n');
    expect(byName['prep-apply.path'].content).toContain('PathChanged=/srv/sftp/iem/prep/LATEST\n');
    expect(byName['apache.conf'].content).toContain('DocumentRoot "/srv/sftp/iem/prep/current"');
    expect(byName['README.md'].content).toContain('las 5 publicaciones más recientes');
    expect(byName['authorized_keys'].content).toBe(`restrict ${LOGIN_KEY} IEM-prep-push\n`);
  });

  it('two accounts, the same in every file: units and crontab run as prep-apply, sshd jails iem, the set-up agrees', async () => {
    const byName = await render({ applyDir: '/srv/sftp/iem/prep' });
    const service = byName['prep-apply.service'].content;
    expect(service).toMatch(/^User=prep-apply$/m);
    expect(service).toMatch(/^Group=prep-apply$/m);
    expect(service).toMatch(/^SupplementaryGroups=iem$/m);
    expect(service).toMatch(/^ExecStart=\/bin\/sh \/opt\/prep-apply\/prep-apply --dir \/srv\/sftp\/iem\/prep$/m);
    expect(byName['crontab.txt'].content).toContain('crontab -u prep-apply crontab.txt');
    expect(byName['crontab.txt'].content).toMatch(/^\* \* \* \* \* \/bin\/sh \/opt\/prep-apply\/prep-apply --dir \/srv\/sftp\/iem\/prep >> /m);
    const sshd = byName['sshd_config.txt'].content;
    expect(sshd).toMatch(/^Match User iem$/m);
    expect(sshd).toMatch(/^ {4}ForceCommand internal-sftp -u 0022$/m);
    expect(sshd).toMatch(/^ {4}AuthorizedKeysFile \/etc\/ssh\/prep-autorizadas\/%u$/m);
    expect(sshd).toContain('de root, grupo iem, modo 1775');
    const install = byName['instalar.sh'].content;
    for (const line of ["CUENTA_SFTP='iem'", "CUENTA_APLICA='prep-apply'", "CARPETA='/srv/sftp/iem/prep'", "JAULA='/srv/sftp/iem'", 'chmod 1775 "$CARPETA"', 'chmod 0700 "$CARPETA/.prep-apply"', 'chmod 0755 "$CARPETA/releases"', 'chown root:"$GRUPO" "$CARPETA"', 'usermod -a -G "$GRUPO" "$CUENTA_APLICA"']) {
      expect(install).toContain(line);
    }
    const readme = byName['README.md'].content;
    for (const line of [
      'install -d -o root -g iem -m 1775 /srv/sftp/iem/prep',
      'install -d -o prep-apply -g prep-apply -m 0755 /srv/sftp/iem/prep/releases',
      'install -d -o prep-apply -g prep-apply -m 0700 /srv/sftp/iem/prep/.prep-apply',
      'usermod -a -G iem prep-apply',
      'install -d -o root -g root -m 0755 /srv/sftp/iem ',
      'install -o root -g root -m 0644 authorized_keys /etc/ssh/prep-autorizadas/iem',
      'crontab -u prep-apply crontab.txt',
      'runuser -u prep-apply -- sh /opt/prep-apply/prep-apply --dir /srv/sftp/iem/prep',
    ]) {
      expect(readme).toContain(line);
    }
    expectSpanishForTheInstitute(readme);
    expect(readme).toContain('el Instituto Electoral de Michoacán (IEM)');
  });

  it('a site difusor gets no prep-apply, units or crontab: web server snippets at current, an sshd snippet that agrees with remote_dir, its own README', async () => {
    const byName = await render({ delivery: 'site', applyDir: '/srv/sftp/iem/prep' });
    expect(Object.keys(byName).sort()).toEqual(['README.md', 'allowed_signers', 'apache.conf', 'authorized_keys', 'instalar.sh', 'nginx.conf', 'sshd_config.txt']);
    for (const file of Object.values(byName)) expect(file.content).not.toMatch(/\{\{|\}\}/);
    expect(byName['nginx.conf'].content).toContain('root /srv/sftp/iem/prep/current;');
    expect(byName['apache.conf'].content).toContain('DocumentRoot "/srv/sftp/iem/prep/current"');
    expect(byName['sshd_config.txt'].content).toContain('ChrootDirectory /srv/sftp/iem\n');
    expect(byName['sshd_config.txt'].content).toContain('ve /srv/sftp/iem/prep como /prep');
    const readme = byName['README.md'].content;
    expect(readme).toContain('publicación directa');
    expect(readme).not.toMatch(/LATEST|crontab|systemctl enable|\/opt\/prep-apply|\.prep-apply/);
    expect(readme).toContain('install -d -o iem -g iem -m 0755 /srv/sftp/iem/prep');
    expectSpanishForTheInstitute(readme);
    expect(byName['instalar.sh'].content).not.toMatch(/CUENTA_APLICA|\.prep-apply|\/releases/);
    expect(byName['instalar.sh'].content).toContain('chown "$CUENTA_SFTP:$GRUPO" "$CARPETA"');
  });

  it('when remote_dir is the path on disk, the sshd snippet jails nobody and says so', async () => {
    const byName = await render({ delivery: 'site' });
    const sshd = byName['sshd_config.txt'].content;
    expect(sshd).not.toMatch(/^\s*ChrootDirectory/m);
    expect(sshd).toMatch(/^ {4}# ChrootDirectory/m);
    expect(sshd).toContain('NO enjaula la cuenta');
    expect(sshd).toContain('apply_dir: /srv/sftp/iem/prep');
    expect(byName['instalar.sh'].content).toContain("JAULA=''");
  });

  it('a difusor reached with a password gets no authorized_keys and a password sshd snippet', async () => {
    const byName = await render({ privateKey: undefined, passwordEnv: 'SOL_PASS' }, { loginKey: undefined });
    expect(byName['authorized_keys']).toBeUndefined();
    expect(byName['sshd_config.txt'].content).toContain('AuthenticationMethods password\n');
    expect(byName['README.md'].content).toContain('passwd iem');
    expect(byName['README.md'].content).not.toContain('authorized_keys');
  });

  it('refuses values that would break out of the files they are pasted into, and one account for both roles', async () => {
    await expect(render({ username: '*' })).rejects.toThrow(/kit: username "\*" of el-sol cannot be written/);
    await expect(render({ remoteDir: '/prep/current; location /leak/ { alias /etc/; } #' })).rejects.toThrow(/kit: remote_dir/);
    await expect(render({ applyDir: "/srv/x/prep;touch /tmp/x;#" })).rejects.toThrow(/kit: apply_dir/);
    await expect(render({ username: 'prep-apply' })).rejects.toThrow(/must differ/);
    await expect(render({}, { loginKey: 'ssh-ed25519 AAAA restrict,command="sh"' })).rejects.toThrow(/not an OpenSSH public key/);
  });

  it("the README's table of errors quotes messages prep-apply really prints", async () => {
    const templates = await readKitTemplates();
    const readme = templates.get('README.md') ?? '';
    const script = templates.get('prep-apply.sh') ?? '';
    const table = readme.slice(readme.indexOf('## Qué significa cada mensaje'));
    const quoted = [...table.matchAll(/^\| (.+?) \| .+ \| .+ \|$/gm)].flatMap((row) => [...row[1].matchAll(/`([^`]+)`/g)].map((m) => m[1]));
    expect(quoted.length).toBeGreaterThan(15);
    const pieces = quoted.flatMap((q) => q.split(/…|\bN\b/).map((p) => p.trim()).filter((p) => p.length > 2));
    expect(pieces.filter((p) => !script.includes(p))).toEqual([]);
  });

  it('refuses an institute that cannot be a principal in allowed_signers', async () => {
    const input = { difusor: aDifusor('el-sol'), allowedSigners: '', templates: await readKitTemplates() };
    expect(() => renderKit({ ...input, institute: 'IEM Michoacán,*' })).toThrow(PrepPushError);
  });

  it('quotes values for single-quoted sh strings', () => {
    expect(quoteForShellSingleQuotes("/srv/o'brien")).toBe("/srv/o'\\''brien");
    expect(fillTemplate("D='{{X}}'", { X: "a'b" }, quoteForShellSingleQuotes, 't')).toBe("D='a'\\''b'");
    expect(() => fillTemplate('{{NOPE}}', {}, (v) => v, 't')).toThrow(/unknown placeholder \{\{NOPE\}\}/);
    expect(authorizedKeysLine(`${LOGIN_KEY}\n`, 'IEM')).toBe(`restrict ${LOGIN_KEY} IEM-prep-push\n`);
  });

  it.each([
    ['/srv/sftp/iem/prep', '/prep', '/srv/sftp/iem'],
    ['/prep', '/prep', undefined],
    ['/srv/www/prep/', '/prep', '/srv/www'],
    ['/data/other', '/prep', undefined],
  ])('chroot of apply_dir %s and remote_dir %s is %s', (apply, remote, chroot) => {
    expect(chrootOf(apply, remote)).toBe(chroot);
  });
});

describe('whom to call', () => {
  test('the registry\'s contact closes both READMEs; without one, the institute that gave the kit', async () => {
    const contact = { name: 'Mesa del PREP', phone: '+52 443 322 1400', email: 'mesa-prep@iem.example' };
    for (const delivery of ['package', 'site'] as const) {
      const readme = (await render({ delivery }, { contact }))['README.md'].content;
      expect(readme).toContain('## A quién llamar\n\nAnte cualquier duda o falla, comuníquese con el IEM:\n\n- Mesa del PREP\n- Teléfono: +52 443 322 1400\n- Correo: mesa-prep@iem.example\n');
      const without = (await render({ delivery }))['README.md'].content;
      expect(without).toContain('comuníquese con la mesa del PREP del IEM, que le entregó este kit.');
      expect(without).not.toContain('{{');
    }
  });
});
