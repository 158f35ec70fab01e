// Fixtures that register jest hooks themselves, so a test file states what it needs in one line.
// Kept apart from the other helpers: those are also built for the benchmark, which has no jest.
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { scanHostKeys } from '../../src/sftp/keyscan.js';
import { startSshd, type SshdFixture, type StartSshdOptions } from './sshd.js';
import { makeWorkspace, type Workspace } from './workspace.js';

const run = promisify(execFile);

/**
 * A real sshd with these accounts and a fresh workspace for the tests of one file: started before
 * them, stopped and removed after. The fields are set once `beforeAll` has run.
 */
export function sshdWithWorkspace(options: StartSshdOptions, timeoutMs: number): { sshd: SshdFixture; ws: Workspace } {
  const fixture = {} as { sshd: SshdFixture; ws: Workspace };
  beforeAll(async () => {
    fixture.sshd = await startSshd(options);
    fixture.ws = await makeWorkspace();
  }, timeoutMs);
  afterAll(async () => {
    await fixture.sshd?.stop();
    await fixture.ws?.remove();
  }, timeoutMs);
  return fixture;
}

/**
 * `keyscan` against a server offering ed25519 and RSA host keys: both found, in that order, each
 * with the fingerprint `ssh-keyscan -t TYPE | ssh-keygen -lf -` prints for it.
 */
export async function expectKeyscanAgreesWithOpenSSH(server: { host: string; port: number; hostKeys: Record<string, string> }): Promise<void> {
  const keys = await scanHostKeys(server.host, server.port, 5000);
  expect(keys).toEqual([
    { type: 'ssh-ed25519', fingerprint: server.hostKeys['ssh-ed25519'] },
    { type: 'ssh-rsa', fingerprint: server.hostKeys['ssh-rsa'] },
  ]);
  for (const { type, fingerprint } of keys) {
    const { stdout } = await run('sh', ['-c', `ssh-keyscan -t ${type === 'ssh-rsa' ? 'rsa' : 'ed25519'} -p ${server.port} 127.0.0.1 2>/dev/null | ssh-keygen -lf -`]);
    expect(stdout).toContain(fingerprint);
  }
}
