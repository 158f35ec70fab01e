// The probe's pure parts: the verdict on measurements (problems, capabilities, modes, notes), the
// upload deadline, and the registry's `requirements` (defaults, located errors).
import { validateRegistry } from '../../src/registry/validate.js';
import { formatProblem } from '../../src/registry/problems.js';
import { judgeProbe, uploadDeadlineSeconds, type ProbeMeasurements } from '../../src/probe/verdict.js';
import type { Requirements } from '../../src/registry/types.js';
import { HOST_KEY_A, makeRegistryWorkspace, yamlLines, type RegistryWorkspace } from '../helpers/registry-fixtures.js';

const REQ: Requirements = { minFreeGb: 20, minUploadMbS: 40, probeMb: 64 };
const OPENSSH_EXTENSIONS = {
  'posix-rename@openssh.com': '1',
  'statvfs@openssh.com': '2',
  'fsync@openssh.com': '1',
  'hardlink@openssh.com': '1',
};

/** A healthy OpenSSH server with 100 GB free and 64 MB uploaded in 1 s. */
function measured(overrides: Partial<ProbeMeasurements> = {}): ProbeMeasurements {
  return {
    id: 'el-sol',
    connectError: null,
    leftoversRemoved: [],
    writeTest: { ok: true },
    freeBytes: 100e9,
    upload: { bytes: 64e6, seconds: 1, completed: true, deadlineS: 10 },
    extensions: OPENSSH_EXTENSIONS,
    symlink: true,
    hardlink: true,
    symlinkSwap: true,
    interrupted: null,
    leftBehind: [],
    seconds: 2,
    ...overrides,
  };
}

describe('judgeProbe', () => {
  test('a healthy OpenSSH server: ok, both modes, every capability, no notes', () => {
    expect(judgeProbe(measured(), REQ)).toEqual({
      id: 'el-sol',
      ok: true,
      free_gb: 100,
      upload_mb_s: 64,
      capabilities: { hardlink: true, posix_rename: true, symlink: true, fsync: true, statvfs: true, atomic_symlink_swap: true },
      modes: ['package', 'site'],
      problems: [],
      notes: [],
      seconds: 2,
    });
  });

  test.each<[string, Partial<ProbeMeasurements>, string[]]>([
    ['too little free space', { freeBytes: 12.345e9 }, ['free space 12.35 GB is below the required 20 GB']],
    ['too slow', { upload: { bytes: 64e6, seconds: 4, completed: true, deadlineS: 10 } }, ['upload rate 16 MB/s is below the required 40 MB/s']],
    [
      'upload not finished by its deadline',
      { upload: { bytes: 8e6, seconds: 10, completed: false, deadlineS: 10 } },
      ['upload of 64 MB did not finish within 10 s (0.8 MB/s); required 40 MB/s'],
    ],
    ['upload failed', { upload: { error: { code: 'NO_SPACE', message: 'Failure' } } }, ['upload test failed: NO_SPACE: Failure']],
    [
      'not writable',
      { writeTest: { ok: false, step: 'write', error: { code: 'PERMISSION_DENIED', message: 'Permission denied' } }, upload: null },
      ['cannot write a test file in remote_dir: PERMISSION_DENIED: Permission denied'],
    ],
    [
      'cannot connect',
      { connectError: { code: 'HOST_KEY_MISMATCH', message: 'pinned A, offered B' }, writeTest: null, freeBytes: null, upload: null, extensions: {} },
      ['cannot connect: HOST_KEY_MISMATCH: pinned A, offered B'],
    ],
    ['scratch left behind', { leftBehind: ['/prep/.prep-push-probe-x-upload'] }, ['could not remove /prep/.prep-push-probe-x-upload (the next probe removes it)']],
    [
      'connection lost mid-probe',
      { interrupted: { step: 'free space', error: { code: 'CONNECTION_LOST', message: 'gone' } } },
      ['probe stopped at free space: CONNECTION_LOST: gone'],
    ],
  ])('%s: not ok, one problem', (_name, overrides, problems) => {
    const result = judgeProbe(measured(overrides), REQ);
    expect([result.ok, result.problems]).toEqual([false, problems]);
  });

  test('statvfs not offered: free space unknown is said, not failed', () => {
    const { 'statvfs@openssh.com': _statvfs, ...withoutStatvfs } = OPENSSH_EXTENSIONS;
    const result = judgeProbe(measured({ freeBytes: undefined, extensions: withoutStatvfs }), REQ);
    expect([result.ok, result.free_gb, result.capabilities.statvfs]).toEqual([true, null, false]);
    expect(result.notes).toEqual(['free space unknown: the server does not answer statvfs@openssh.com; ask the difusor to confirm at least 20 GB free']);
  });

  test('fallbacks are named: no posix-rename, no hard links, no atomic symlink swap (ProFTPD)', () => {
    const result = judgeProbe(measured({ extensions: { 'statvfs@openssh.com': '2', 'fsync@openssh.com': '1' }, hardlink: false, symlinkSwap: false }), REQ);
    expect(result.ok).toBe(true);
    expect(result.modes).toEqual(['package', 'site']);
    expect(result.notes).toEqual([
      'package: no posix-rename@openssh.com, so LATEST is replaced by remove-then-rename (a moment without LATEST)',
      'site: no hard links, so unchanged files are uploaded again every cut',
      'site: `current` cannot be switched by one atomic rename here; the site mode’s fallback applies',
    ]);
  });

  test('no symlinks: package mode only, and why', () => {
    const result = judgeProbe(measured({ symlink: false, symlinkSwap: false }), REQ);
    expect(result.modes).toEqual(['package']);
    expect(result.notes).toContain('site: not possible, the server does not create symlinks (needed for `current`); use package mode with the kit');
  });
});

test.each<[Requirements, number, number]>([
  [REQ, 300, 10], // 64 MB at 40 MB/s is 1.6 s; at least 10 s
  [{ ...REQ, probeMb: 512 }, 300, 39], // 3 × 12.8 s
  [{ ...REQ, probeMb: 1024, minUploadMbS: 1 }, 300, 300], // never past the transfer deadline
  [{ ...REQ, minUploadMbS: 0 }, 60, 60],
])('uploadDeadlineSeconds(%j, %d) = %d', (req, transfer, expected) => {
  expect(uploadDeadlineSeconds(req, transfer)).toBe(expected);
});

describe('registry requirements', () => {
  let ws: RegistryWorkspace;
  beforeAll(async () => {
    ws = await makeRegistryWorkspace();
  });
  afterAll(async () => ws.cleanup());
  const registryWith = (...extra: string[]) =>
    yamlLines(
      'institute: IEM',
      'package:',
      '  name: "PREP_{cut}"',
      'difusores:',
      '  - id: el-sol',
      '    host: 203.0.113.10',
      `    host_key: "${HOST_KEY_A}"`,
      '    username: iem',
      '    remote_dir: /prep',
      '    private_key: ./keys/id_ed25519',
      ...extra,
    );

  test('defaults are the calls’: 20 GB, 40 MB/s, 64 MB probe', async () => {
    const file = await ws.write('a.yaml', registryWith());
    const { registry } = await validateRegistry(file, { env: {} });
    expect(registry?.requirements).toEqual({ minFreeGb: 20, minUploadMbS: 40, probeMb: 64 });
  });

  test('set, and wrong values located with what was expected', async () => {
    const good = await ws.write('b.yaml', registryWith('requirements: {min_free_gb: 50, min_upload_mb_s: 10}'));
    expect((await validateRegistry(good, { env: {} })).registry?.requirements).toEqual({ minFreeGb: 50, minUploadMbS: 10, probeMb: 64 });
    const bad = await ws.write('c.yaml', registryWith('requirements:', '  probe_mb: 0', '  min_free_mb: 3'));
    const problems = (await validateRegistry(bad, { env: {} })).problems.map(formatProblem);
    expect(problems).toEqual([
      expect.stringMatching(/c\.yaml:12:13: requirements\.probe_mb: expected a number of megabytes \(10\^6 bytes\) from 1 to 1024 to upload when probing, got 0$/),
      expect.stringMatching(/c\.yaml:13:3: requirements\.min_free_mb: unknown field "min_free_mb"; did you mean "min_free_gb"\? expected one of: min_free_gb, min_upload_mb_s, probe_mb$/),
    ]);
  });
});
