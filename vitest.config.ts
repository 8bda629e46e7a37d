import { defineConfig } from 'vitest/config'

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 30_000,
    hookTimeout: 60_000,
    // Integration tests start real servers (hub, influxd, mosquitto); two cores, so keep parallelism modest.
    maxWorkers: 2,
    // Memory tests call global.gc() to measure what stays behind, not what the collector has not reached yet.
    execArgv: ['--expose-gc'],
    reporters: ['default'],
    // `ZHIAN_TEST_STORE=postgres`: the same suite on the PostgreSQL store (test/helpers/postgres-suite.ts).
    globalSetup: ['test/helpers/postgres-suite.ts'],
    setupFiles: ['test/helpers/store-setup.ts'],
  },
})
