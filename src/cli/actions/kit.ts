// `kit ID [--out DIR]`: writes what a difusor's IT installs, configured for that difusor.
import { writeKit } from '../../commands/kit.js';
import type { Action } from '../io.js';

export const run: Action = async ({ args, opts }, env) => {
  const id = args[0];
  const kit = await writeKit(id, opts.out as string | undefined, env.globals, env.ctx);
  env.out([`kit for ${id} written to ${kit.dir}:`, ...kit.files.map((f) => `  ${f}`)]);
  return 0;
};
