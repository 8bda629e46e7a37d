import type { ChildProcess } from 'node:child_process'
import { afterAll } from 'vitest'
import type { HistoryConfig } from '../../src/config/env.ts'
import { type Influxd, launchInfluxd, type Series, stopProcess } from './influxd.ts'

/**
 * A real InfluxDB for tests (influxd.ts), stopped after the file. When influxd is missing this
 * throws: the test fails, it never skips (.ci/run installs the `influxdb` package).
 */

export { freePort, INFLUXD, type Series } from './influxd.ts'

export interface TestInflux extends Influxd {
  /** Rows of the first series as objects. */
  rows: (q: string, db?: string) => Promise<Record<string, unknown>[]>
  history: (db: string, overrides?: Partial<HistoryConfig>) => HistoryConfig
}

const running = new Set<ChildProcess>()
afterAll(async () => {
  await Promise.all([...running].map((p) => stopProcess(p)))
  running.clear()
})

export async function startInflux(): Promise<TestInflux> {
  const influx = await launchInfluxd({ onSpawn: (p) => running.add(p), onStop: (p) => running.delete(p) })
  return {
    ...influx,
    rows: async (q, db) => {
      const [series]: Series[] = await influx.query(q, db)
      if (!series) return []
      return series.values.map((v) => Object.fromEntries(series.columns.map((c, i) => [c, v[i]])))
    },
    history: (db, overrides = {}) => ({
      api: 'v1',
      url: influx.url,
      database: db,
      username: undefined,
      password: undefined,
      retention: undefined,
      org: '',
      bucket: db,
      token: undefined,
      batchSize: 5000,
      batchIntervalMs: 50,
      timeoutMs: 5000,
      backoff: { minMs: 50, maxMs: 500 },
      tsMaxFutureMs: 300_000,
      tsMaxPastMs: 7 * 86_400_000,
      ...overrides,
    }),
  }
}
