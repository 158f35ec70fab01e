// The CLI's glue for each command, one file per command, loaded only when that command runs
// (see main.ts). Each calls the command, renders its result and returns the exit code.
// This one: `validate`.
import { registryPaths } from '../../commands/context.js';
import { validateRegistry } from '../../registry/validate.js';
import { formatProblem } from '../../registry/problems.js';
import { plural, type Action } from '../io.js';

export const run: Action = async ({ opts }, env) => {
  const { file, displayPath } = registryPaths(env.globals, env.ctx.cwd);
  const { registry, problems } = await validateRegistry(file, { env: env.ctx.env, displayPath });
  const exitCode = problems.length ? 2 : 0;
  if (opts.json) {
    env.out(JSON.stringify({ file: displayPath, valid: problems.length === 0, problems, exit_code: exitCode }, null, 2));
  } else if (problems.length) {
    env.err([
      ...problems.map(formatProblem),
      `${displayPath}: ${plural(problems.length, 'problem')}`,
      `hint: fix ${problems.length === 1 ? 'it' : 'them'} and run \`prep-push validate\` again`,
    ]);
  } else if (registry) {
    const enabled = registry.difusores.filter((d) => d.enabled).length;
    env.out(
      `${displayPath}: valid — ${registry.institute}, ${plural(registry.difusores.length, 'difusor')} (${enabled} enabled), package ${registry.package.name}.${registry.package.format}`,
    );
  }
  return exitCode;
};
