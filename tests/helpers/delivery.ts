// Builds what the delivery loop receives from a package, as a run does: the chooser's results
// strategies for each difusor (src/delivery/modes/index.ts), so tests go through the real chooser.
import type { DeliveryPlan } from '../../src/delivery/deliver.js';
import type { DifusorDelivery } from '../../src/delivery/deliver-one.js';
import { readPackageSha256, resultStrategies, type ResultsInput } from '../../src/delivery/modes/index.js';
import type { Difusor, PushSettings } from '../../src/registry/types.js';

type PlanInput = Omit<ResultsInput, 'sha256Text'> & { targets: Difusor[]; settings: PushSettings };

/** The fan-out's plan for delivering `pkg` (reads its `.sha256` like a run: rejects when it is missing). */
export async function resultsPlan(input: PlanInput): Promise<DeliveryPlan> {
  const { targets, settings, ...rest } = input;
  const results: ResultsInput = { ...rest, sha256Text: await readPackageSha256(rest.pkg) };
  return { targets, settings, strategiesFor: (difusor) => resultStrategies(difusor, results) };
}

/** One difusor's delivery of a package's results. */
export function resultsDelivery(input: ResultsInput & { difusor: Difusor; settings: PushSettings }): DifusorDelivery {
  const { difusor, settings, ...results } = input;
  return { difusor, settings, strategies: resultStrategies(difusor, results) };
}
