// Small data builders for unit tests: a difusor, a registry, ledger states.
import type { DifusorLedgerState, LedgerState } from '../../src/ledger/types.js';
import type { Difusor, Registry } from '../../src/registry/types.js';

export function aDifusor(id: string, overrides: Partial<Difusor> = {}): Difusor {
  return {
    id,
    name: id,
    host: '127.0.0.1',
    port: 22,
    username: 'iem',
    privateKey: '/keys/iem',
    hostKey: 'SHA256:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA',
    remoteDir: '/prep',
    enabled: true,
    ...overrides,
  };
}

export function aRegistry(difusores: Difusor[], overrides: Partial<Registry> = {}): Registry {
  return {
    file: '/etc/prep/difusores.yaml',
    institute: 'IEM',
    timezone: 'America/Mexico_City',
    blockAfterMisses: 3,
    package: { name: 'PREP2024_MICH_{cut}', format: 'tar.gz' },
    push: { concurrency: 4, connectTimeoutS: 5, transferTimeoutS: 30, retries: 1 },
    difusores,
    ...overrides,
  };
}

export function aLedger(states: Array<Partial<DifusorLedgerState> & { id: string }>, latestCut: string | null = null): LedgerState {
  const difusores: Record<string, DifusorLedgerState> = {};
  for (const s of states) {
    difusores[s.id] = {
      missedCuts: [],
      consecutiveMisses: 0,
      lastDeliveredCut: null,
      deliveredCuts: s.lastDeliveredCut ? [s.lastDeliveredCut] : [],
      lastError: null,
      blocked: null,
      ...s,
    };
  }
  return { latestCut, cuts: latestCut === null ? [] : [latestCut], withdrawn: {}, difusores };
}
