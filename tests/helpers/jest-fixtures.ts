// Fixtures that register jest hooks themselves, so a test file states what it needs in one line.
// Kept apart from the other helpers: those are also built for the benchmark, which has no jest.
import { startSshd, type SshdFixture, type StartSshdOptions } from './sshd.js';
import { makeWorkspace, type Workspace } from './workspace.js';

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
