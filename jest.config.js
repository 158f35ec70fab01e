// Jest runs the TypeScript sources as ESM through ts-jest (transpile only: `npm run typecheck`
// does the type checking, so the tests stay fast).
export default {
  testEnvironment: 'node',
  extensionsToTreatAsEsm: ['.ts'],
  roots: ['<rootDir>/tests'],
  testMatch: ['**/*.test.ts'],
  moduleNameMapper: { '^(\\.{1,2}/.*)\\.js$': '$1' },
  transform: {
    '^.+\\.ts$': ['ts-jest', { useESM: true, tsconfig: 'tsconfig.json' }],
  },
  // A hang guard, not a speed line: most integration and e2e tests wait on real servers and chains
  // of CLI runs, and a shared CI machine stretches them. At load average 24 on 2 cores the longest
  // test on this default took 32 s (e2e/audit, ~10 CLI runs) and the longest hook 16 s; 60 s left
  // less than 2x. A hung test now fails after 3 minutes instead of 1.
  testTimeout: 180_000,
  // Integration tests start real sshd instances; two workers match the machine's two cores.
  maxWorkers: 2,
};
