// Pinned host keys: the registry's entries, matching an offered key, and the negotiation order.
import {
  hostKeyAlgorithmOrder,
  matchesPin,
  pinnedHostKeysOf,
} from '../../src/sftp/host-keys.js';
import { parsePinnedHostKey } from '../../src/registry/host-key.js';
import { keyscanLines } from '../../src/commands/keyscan.js';

const A = `SHA256:${'a'.repeat(43)}`;
const B = `SHA256:${'b'.repeat(43)}`;

describe('parsePinnedHostKey', () => {
  test.each([
    [A, { fingerprint: A }],
    [`ssh-rsa ${A}`, { fingerprint: A, type: 'ssh-rsa' }],
    [`  ssh-ed25519   ${A} `, { fingerprint: A, type: 'ssh-ed25519' }],
    ['SHA256:short', undefined],
    [`ssh-foo ${A}`, undefined],
    [`${A} ssh-rsa`, undefined],
    [`MD5:${'a'.repeat(43)}`, undefined],
  ])('%j → %j', (text, expected) => {
    expect(parsePinnedHostKey(text)).toEqual(expected);
  });
});

test('a difusor without a list pins its one host_key', () => {
  expect(pinnedHostKeysOf({ hostKey: A })).toEqual([{ fingerprint: A }]);
  expect(pinnedHostKeysOf({ hostKey: A, hostKeys: [{ fingerprint: A }, { fingerprint: B, type: 'ssh-rsa' }] })).toHaveLength(2);
});

test('an offered key matches a pin by fingerprint, and by type when the pin names one', () => {
  const pins = [{ fingerprint: A }, { fingerprint: B, type: 'ssh-rsa' }];
  expect(matchesPin(pins, 'ssh-ed25519', A)).toBe(true);
  expect(matchesPin(pins, 'ssh-rsa', B)).toBe(true);
  expect(matchesPin(pins, 'ssh-ed25519', B)).toBe(false);
  expect(matchesPin(pins, 'ssh-rsa', `SHA256:${'c'.repeat(43)}`)).toBe(false);
});

test('pinned types are negotiated first; refused types are left out', () => {
  const rsaFirst = hostKeyAlgorithmOrder([{ fingerprint: A, type: 'ssh-rsa' }]);
  expect(rsaFirst.slice(0, 3)).toEqual(['rsa-sha2-512', 'rsa-sha2-256', 'ssh-rsa']);
  expect(rsaFirst).toContain('ssh-ed25519');
  expect(hostKeyAlgorithmOrder([{ fingerprint: A }])[0]).toBe('ssh-ed25519');
  const withoutEd = hostKeyAlgorithmOrder([{ fingerprint: A }], new Set(['ssh-ed25519']));
  expect(withoutEd).not.toContain('ssh-ed25519');
  expect(withoutEd[0]).toBe('ecdsa-sha2-nistp256');
  expect(hostKeyAlgorithmOrder([{ fingerprint: A }], new Set(Object.keys({ 'ssh-ed25519': 1, 'ecdsa-sha2-nistp256': 1, 'ecdsa-sha2-nistp384': 1, 'ecdsa-sha2-nistp521': 1, 'ssh-rsa': 1 })))).toEqual([]);
});

describe('keyscan output', () => {
  const keys = [
    { type: 'ssh-ed25519', fingerprint: A },
    { type: 'ssh-rsa', fingerprint: B },
  ];

  test('one host_key line per type, named after #, then the list form with types', () => {
    expect(keyscanLines('127.0.0.1:2222', keys, undefined)).toEqual([
      '127.0.0.1:2222 offers 2 host keys:',
      `host_key: "${A}"  # ssh-ed25519`,
      `host_key: "${B}"  # ssh-rsa`,
      'to pin several (key rotation, several types), list them with their types, so prep-push asks for those types first:',
      `host_key: ["ssh-ed25519 ${A}", "ssh-rsa ${B}"]`,
      'confirm these fingerprints with the difusor by another channel (phone, signed mail) before pinning one',
    ]);
  });

  test('against the pins: which type matches, or that none does', () => {
    expect(keyscanLines('el-sol', keys, [{ fingerprint: B }]).at(-1)).toBe('matches the pinned host_key (ssh-rsa)');
    expect(keyscanLines('el-sol', keys.slice(0, 1), [{ fingerprint: B, type: 'ssh-rsa' }]).at(-1)).toMatch(/^DOES NOT MATCH the pinned ssh-rsa SHA256:b+: /);
  });
});
