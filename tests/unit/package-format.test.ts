import { cutAt } from '../../src/core/cut.js';
import { PrepPushError } from '../../src/core/errors.js';
import { packageFileName } from '../../src/package/build-package.js';
import { renderManifest } from '../../src/package/manifest.js';
import { encodeTarHeader, paxRecord, TarHeaderWriter, tarPadding, type TarEntryHeader } from '../../src/package/tar-format.js';
import { dosDateTimeOf } from '../../src/package/zip-format.js';

const fixed: Omit<TarEntryHeader, 'path' | 'type' | 'size'> = {
  mtimeSeconds: 1717381200,
  mode: 0o644,
  uid: 0,
  gid: 0,
  uname: 'root',
  gname: 'root',
};

function field(block: Buffer, offset: number, width: number): string {
  return block.subarray(offset, offset + width).toString('utf8').replace(/\0.*$/s, '');
}

function checksumOk(block: Buffer): boolean {
  const copy = Buffer.from(block);
  copy.fill(0x20, 148, 156);
  const sum = copy.reduce((a, b) => a + b, 0);
  return parseInt(field(block, 148, 8), 8) === sum;
}

describe('tar headers', () => {
  test('a short ASCII path is one ustar block with fixed metadata', () => {
    const block = encodeTarHeader({ ...fixed, path: 'json/main.json', type: 'file', size: 1234 });
    expect(block.length).toBe(512);
    expect(field(block, 0, 100)).toBe('json/main.json');
    expect(field(block, 100, 8)).toBe('0000644');
    expect(parseInt(field(block, 124, 12), 8)).toBe(1234);
    expect(parseInt(field(block, 136, 12), 8)).toBe(1717381200);
    expect(field(block, 156, 1)).toBe('0');
    expect(block.subarray(257, 265).toString('latin1')).toBe('ustar\u000000');
    expect(field(block, 265, 32)).toBe('root');
    expect(checksumOk(block)).toBe(true);
  });

  test('a directory has type 5, size 0 and its own mode', () => {
    const block = encodeTarHeader({ ...fixed, path: 'json/', type: 'directory', size: 99, mode: 0o755 });
    expect(field(block, 156, 1)).toBe('5');
    expect(parseInt(field(block, 124, 12), 8)).toBe(0);
    expect(field(block, 100, 8)).toBe('0000755');
  });

  test.each([
    ['a path over 100 bytes', `${'carpeta_larga/'.repeat(8)}archivo.json`],
    ['a non-ASCII path', 'índice.html'],
  ])('%s gets a PAX header carrying the UTF-8 path', (_label, path) => {
    const bytes = encodeTarHeader({ ...fixed, path, type: 'file', size: 10 });
    expect(bytes.length).toBe(512 * 3);
    const pax = bytes.subarray(0, 512);
    expect(field(pax, 156, 1)).toBe('x');
    expect(checksumOk(pax)).toBe(true);
    const paxSize = parseInt(field(pax, 124, 12), 8);
    expect(bytes.subarray(512, 512 + paxSize).toString('utf8')).toBe(paxRecord('path', path).toString('utf8'));
    const ustar = bytes.subarray(1024);
    expect(checksumOk(ustar)).toBe(true);
    expect(parseInt(field(ustar, 124, 12), 8)).toBe(10);
  });

  test.each([
    ['a', '9 path=a\n'],
    ['x'.repeat(91), `101 path=${'x'.repeat(91)}\n`],
    ['x'.repeat(90), `99 path=${'x'.repeat(90)}\n`],
    ['ñ', '11 path=ñ\n'],
  ])('PAX record length counts itself and UTF-8 bytes (%#)', (value, expected) => {
    const record = paxRecord('path', value);
    expect(record.toString('utf8')).toBe(expected);
    expect(record.length).toBe(parseInt(expected, 10));
  });

  test.each([
    [0, 0],
    [1, 511],
    [512, 0],
    [513, 511],
  ])('padding after %d bytes is %d', (size, pad) => {
    expect(tarPadding(size)).toBe(pad);
  });
});

describe('tar headers laid into a buffer', () => {
  const { mode: _mode, ...owner } = fixed;
  const writer = new TarHeaderWriter(owner);

  test.each([
    ['a short file', 'json/main.json', 1234],
    ['an empty file', 'vacio.txt', 0],
    ['a file with a 100-byte path', 'x'.repeat(100), 7],
    ['a folder', 'json', -1],
    ['a folder whose path with its slash is 100 bytes', 'd'.repeat(99), -1],
  ])('%s: the same bytes as encodeTarHeader, at the offset given', (_label, path, size) => {
    const target = Buffer.alloc(2048, 0xaa);
    expect(writer.tryWrite(target, 700, path, size)).toBe(true);
    const expected =
      size < 0
        ? encodeTarHeader({ ...fixed, path: `${path}/`, type: 'directory', size: 0, mode: 0o755 })
        : encodeTarHeader({ ...fixed, path, type: 'file', size, mode: 0o644 });
    expect(expected.length).toBe(512);
    expect(target.subarray(700, 1212).equals(expected)).toBe(true);
    expect(target.subarray(0, 700).every((b) => b === 0xaa)).toBe(true);
    expect(target.subarray(1212).every((b) => b === 0xaa)).toBe(true);
  });

  test.each([
    ['a path over 100 bytes', 'x'.repeat(101), 1],
    ['a folder whose path with its slash is over 100 bytes', 'd'.repeat(100), -1],
    ['a non-ASCII path', 'índice.html', 1],
    ['a control character', 'a\tb', 1],
    ['a size past 11 octal digits', 'grande.bin', 0o77777777777 + 1],
  ])('%s is left to encodeTarHeader', (_label, path, size) => {
    const target = Buffer.alloc(1024, 0xaa);
    expect(writer.tryWrite(target, 0, path, size)).toBe(false);
    expect(target.every((b) => b === 0xaa)).toBe(true);
  });

  test('less than a block of room is refused, and nothing is written', () => {
    const target = Buffer.alloc(1000, 0xaa);
    expect(writer.tryWrite(target, 489, 'a.json', 1)).toBe(false);
    expect(target.every((b) => b === 0xaa)).toBe(true);
  });
});

describe('zip dates', () => {
  test('the cut wall-clock time becomes the DOS date and time', () => {
    const { date, time } = dosDateTimeOf('2024-06-02T20:20:00-06:00');
    expect(date >> 9).toBe(2024 - 1980);
    expect((date >> 5) & 0xf).toBe(6);
    expect(date & 0x1f).toBe(2);
    expect(time >> 11).toBe(20);
    expect((time >> 5) & 0x3f).toBe(20);
    expect(time & 0x1f).toBe(0);
  });
});

describe('manifest', () => {
  test('has a stable key order, 2-space indentation and a final newline', () => {
    const cut = cutAt(Date.parse('2024-06-02T20:20:00-06:00'), 'America/Mexico_City');
    const text = renderManifest(cut, 'IEM', [{ path: 'a.json', size: 2, sha256: 'ab'.repeat(32) }]).toString('utf8');
    expect(text).toBe(
      [
        '{',
        '  "cut": {',
        '    "id": "20240602_2020",',
        '    "time": "2024-06-02T20:20:00-06:00"',
        '  },',
        '  "institute": "IEM",',
        '  "files": [',
        '    {',
        '      "path": "a.json",',
        '      "size": 2,',
        `      "sha256": "${'ab'.repeat(32)}"`,
        '    }',
        '  ]',
        '}',
        '',
      ].join('\n'),
    );
  });
});

describe('package file names', () => {
  test('{cut} is replaced by the cut id and the format is the extension', () => {
    expect(packageFileName('PREP2024_MICH_{cut}', '20240602_2020', 'tar.gz')).toBe('PREP2024_MICH_20240602_2020.tar.gz');
    expect(packageFileName('{cut}-{cut}', '20240602_2020', 'zip')).toBe('20240602_2020-20240602_2020.zip');
  });

  test.each(['', 'a/{cut}', '.hidden_{cut}'])('template %j is refused as a registry error', (template) => {
    let caught: unknown;
    try {
      packageFileName(template, '20240602_2020', 'zip');
    } catch (error) {
      caught = error;
    }
    expect(caught).toBeInstanceOf(PrepPushError);
    expect((caught as PrepPushError).kind).toBe('registry');
    expect((caught as PrepPushError).message).toContain('package.name');
  });
});
