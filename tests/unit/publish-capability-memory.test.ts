// The capability memory's rules, without a server: an entry is recalled only for the same address and
// extensions (in any order), a damaged file is an empty memory, and only a change is written.
import { capabilityStoreOf, parseCapabilityFile } from '../../src/publish/capability-memory.js';

const address = { id: 'el-sol', host: 'sftp.elsol.mx', port: 22, username: 'iem', remoteDir: '/prep', hostKeys: ['SHA256:a'] };
const caps = { hardlink: true, posixRename: true, symlink: true, renameReplacesSymlink: false };
const extensions = { 'posix-rename@openssh.com': '1', 'hardlink@openssh.com': '1' };

function store(text = '{}') {
  const writes: string[] = [];
  return { writes, store: capabilityStoreOf(parseCapabilityFile(text), async (t) => void writes.push(t)) };
}

test('recalled for the same address and extensions, in any order; not for another address or server', async () => {
  const { store: first, writes } = store();
  expect(first.of(address).recall(extensions)).toBeNull();
  first.of(address).remember(extensions, caps);
  await first.save();
  expect(writes).toHaveLength(1);
  const { store: next } = store(writes[0]);
  expect(next.of(address).recall({ 'hardlink@openssh.com': '1', 'posix-rename@openssh.com': '1' })).toEqual(caps);
  expect(next.of({ ...address, remoteDir: '/srv/prep' }).recall(extensions)).toBeNull();
  expect(next.of({ ...address, hostKeys: ['SHA256:b'] }).recall(extensions)).toBeNull();
  expect(next.of(address).recall({ 'hardlink@openssh.com': '1' })).toBeNull();
});

test('forget drops the entry and is written; nothing changed writes nothing', async () => {
  const { store: first, writes } = store();
  first.of(address).remember(extensions, caps);
  await first.save();
  const { store: next, writes: nextWrites } = store(writes[0]);
  await next.save();
  expect(nextWrites).toEqual([]);
  next.of(address).forget();
  await next.save();
  expect(JSON.parse(nextWrites[0])).toEqual({});
});

test.each([['not json {'], ['[]'], ['null'], ['{"el-sol": {"where": 1}}'], ['{"el-sol": {"where": "x", "extensions": "[]", "caps": {"symlink": "yes"}}}']])(
  'a damaged file (%s) is an empty memory',
  (text) => {
    expect(parseCapabilityFile(text).size).toBe(0);
  },
);
