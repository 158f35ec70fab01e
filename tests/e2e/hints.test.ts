// Every follow-up command a run prints does something in that situation (#23 item 6): a failure's
// re-push delivers once fixed, a blocked difusor's unblock + push delivers, a refused rollback's
// --allow-rollback push moves `current` back. Each printed line is run as printed, through the
// built binary against real sshd.
import { mkdir, readlink, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { runPrepPush, type CliRun } from '../helpers/cli.js';
import { sshdWithWorkspace } from '../helpers/jest-fixtures.js';
import { registryYamlFor } from '../helpers/sshd.js';

const LONG = 120_000;
const fx = sshdWithWorkspace({ accounts: [{ id: 'roto' }, { id: 'sitio' }] }, LONG);

const cli = (...args: string[]): Promise<CliRun> => runPrepPush(['--config', fx.ws.registryFile, ...args]);
const rotoDir = (): string => path.join(fx.sshd.accounts.roto.dir, 'prep');

/** The commands printed after a run: each line `  prep-push COMMAND …` (alone, indented), in order. */
function printedCommands(run: CliRun): string[][] {
  return `${run.stdout}\n${run.stderr}`
    .split('\n')
    .filter((line) => /^ {2}prep-push (push|unblock)( |$)/.test(line))
    .map((command) => command.trim().split(/\s+/).slice(1));
}

async function cutAt(minute: string): Promise<CliRun> {
  await writeFile(path.join(fx.ws.sourceDir, 'json', 'main.json'), `{"corte":"${minute}"}\n`);
  return cli('cut', '--source', fx.ws.sourceDir, '--cut', `2024-06-02T${minute}:00-06:00`);
}

beforeAll(async () => {
  const yaml = registryYamlFor(fx.sshd, ['roto', 'sitio'], {
    blockAfterMisses: 2,
    stateDir: fx.ws.stateDir,
    difusores: { roto: { remote_dir: rotoDir() }, sitio: { delivery: 'site' } },
  });
  await fx.ws.writeRegistry(yaml);
}, LONG);

test('a failure: the printed re-push delivers once the difusor is fixed', async () => {
  const first = await cutAt('20:20');
  expect(first.code).toBe(1);
  const commands = printedCommands(first);
  expect(commands).toEqual([['push', '--cut', '20240602_2020', '--only', 'roto']]);
  await mkdir(rotoDir());
  const pushed = await cli(...commands[0], '--json');
  expect(JSON.parse(pushed.stdout).results.map((r: { id: string; outcome: string }) => [r.id, r.outcome])).toEqual([['roto', 'delivered']]);
}, LONG);

test('a block: the printed unblock and push deliver once the difusor is fixed', async () => {
  await rm(rotoDir(), { recursive: true });
  expect((await cutAt('20:40')).code).toBe(1);
  const blocking = await cutAt('21:00');
  expect(blocking.code).toBe(1);
  const commands = printedCommands(blocking);
  expect(commands).toEqual([['unblock', 'roto'], ['push', '--only', 'roto']]);
  await mkdir(rotoDir());
  expect((await cli(...commands[0])).code).toBe(0);
  const pushed = await cli(...commands[1], '--json');
  expect(JSON.parse(pushed.stdout).results.map((r: { id: string; outcome: string }) => [r.id, r.outcome])).toEqual([['roto', 'delivered']]);
}, LONG);

test('a refused rollback: the printed --allow-rollback push moves current back', async () => {
  const refused = await cli('push', '--cut', '20240602_2020', '--only', 'sitio');
  expect(refused.code).toBe(1);
  const commands = printedCommands(refused);
  expect(commands).toEqual([['push', '--cut', '20240602_2020', '--only', 'sitio', '--allow-rollback']]);
  expect((await cli(...commands[0])).code).toBe(0);
  expect(await readlink(path.join(fx.sshd.accounts.sitio.dir, 'current'))).toBe('releases/20240602_2020');
}, LONG);
