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
  testTimeout: 60000,
  // Integration tests start real sshd instances; two workers match the machine's two cores.
  maxWorkers: 2,
};
