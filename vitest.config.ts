import { defineConfig } from 'vitest/config';

// Three projects: `unit` needs nothing running; `integration` gets a real Kafka,
// schema registry and PostgreSQL from test/global-setup.ts (env, testcontainers
// or the local stack, in that order) — files named *.int.test.ts; `drills` runs the
// CI-size fault drills (test/drills/*.drill.test.ts) on the same stack, after the
// integration tests and one at a time. `npm test -- --project unit --project
// integration` leaves the drills out.
export default defineConfig({
  test: {
    projects: [
      {
        test: {
          name: 'unit',
          include: ['test/**/*.test.ts'],
          exclude: ['test/**/*.int.test.ts', 'test/**/*.drill.test.ts', 'node_modules/**'],
          environment: 'node',
          testTimeout: 20_000,
          sequence: { groupOrder: 0 },
        },
      },
      {
        test: {
          name: 'integration',
          include: ['test/**/*.int.test.ts'],
          environment: 'node',
          globalSetup: ['test/global-setup.ts'],
          testTimeout: 120_000,
          hookTimeout: 180_000,
          // 2 cores: a few files at a time, each with its own topics/schema.
          maxWorkers: 2,
          fileParallelism: true,
          sequence: { groupOrder: 1 },
        },
      },
      {
        test: {
          name: 'drills',
          include: ['test/drills/**/*.drill.test.ts'],
          environment: 'node',
          globalSetup: ['test/global-setup.ts'],
          testTimeout: 600_000,
          maxWorkers: 1,
          fileParallelism: false,
          sequence: { groupOrder: 2 },
        },
      },
    ],
  },
});
