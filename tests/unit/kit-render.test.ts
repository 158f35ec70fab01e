// The kit renderer: every placeholder filled, values safe inside the shell script, the chroot that
// makes the SFTP account see apply_dir as remote_dir.
import { PrepPushError } from '../../src/core/errors.js';
import { chrootOf, fillTemplate, KIT_FILES, quoteForShellSingleQuotes, renderKit } from '../../src/kit/render-kit.js';
import { readKitTemplates } from '../../src/kit/templates-dir.js';
import { aDifusor } from '../helpers/builders.js';

describe('the kit renderer', () => {
  it('fills every placeholder of every template and adds allowed_signers', async () => {
    const files = renderKit({
      institute: 'IEM',
      difusor: aDifusor('el-sol', { name: 'El Sol de Morelia', username: 'iem', remoteDir: '/prep', applyDir: '/srv/sftp/iem/prep', applyKeepReleases: 5 }),
      allowedSigners: 'IEM namespaces="prep-push" ssh-ed25519 AAAA\n',
      templates: await readKitTemplates(),
    });
    expect(files.map((f) => f.name)).toEqual([...KIT_FILES.map((f) => f.name), 'allowed_signers']);
    for (const file of files) expect(file.content).not.toMatch(/\{\{|\}\}/);
    const byName = Object.fromEntries(files.map((f) => [f.name, f]));
    expect(byName['prep-apply'].mode).toBe(0o755);
    expect(byName['prep-apply'].content).toContain("APPLY_DIR='/srv/sftp/iem/prep'");
    expect(byName['prep-apply'].content).toContain("KEEP='5'");
    expect(byName['prep-apply'].content).toContain("PRINCIPAL='IEM'");
    expect(byName['sshd_config.txt'].content).toContain('ChrootDirectory /srv/sftp/iem\n');
    expect(byName['prep-apply.path'].content).toContain('PathChanged=/srv/sftp/iem/prep/LATEST\n');
    expect(byName['apache.conf'].content).toContain('DocumentRoot "/srv/sftp/iem/prep/current"');
    expect(byName['README.md'].content).toContain('las 5 publicaciones más recientes');
  });

  it('refuses an institute that cannot be a principal in allowed_signers', async () => {
    const input = { difusor: aDifusor('el-sol'), allowedSigners: '', templates: await readKitTemplates() };
    expect(() => renderKit({ ...input, institute: 'IEM Michoacán,*' })).toThrow(PrepPushError);
  });

  it('quotes values for single-quoted sh strings', () => {
    expect(quoteForShellSingleQuotes("/srv/o'brien")).toBe("/srv/o'\\''brien");
    expect(fillTemplate("D='{{X}}'", { X: "a'b" }, quoteForShellSingleQuotes, 't')).toBe("D='a'\\''b'");
    expect(() => fillTemplate('{{NOPE}}', {}, (v) => v, 't')).toThrow(/unknown placeholder \{\{NOPE\}\}/);
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
