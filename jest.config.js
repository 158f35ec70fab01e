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
  // of CLI runs, and a shared CI machine stretches them. With other test runs and builds on the 2
  // cores (load average 15-25) the longest tests on this default took 43 s (unit/lock, 40 racing
  // child processes), 40 s (e2e/events-notify) and 32 s (e2e/audit), the longest hooks 16 s: 60 s
  // left less than 1.5x. A hung test now fails after 3 minutes instead of 1.
  testTimeout: 180_000,
  // Integration tests start real sshd instances; two workers match the machine's two cores.
  maxWorkers: 2,
};
