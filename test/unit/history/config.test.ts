import { describe, expect, it } from 'vitest'
import { configFromEnv } from '../../../src/config/env.ts'

describe('history configuration from the environment', () => {
  it('is off without ZHIAN_INFLUX_URL, with the journal on auto', () => {
    const config = configFromEnv({})
    expect(config.history).toBeUndefined()
    expect(config.journal).toMatchObject({
      mode: 'auto',
      maxBacklogBytes: 2048 * 1024 ** 2,
      commitDelayMs: 0,
    })
  })

  it('reads the v1 and v2 settings, batching, retention and the timestamp window', () => {
    const v1 = configFromEnv({
      ZHIAN_INFLUX_URL: 'http://influx:8086',
      ZHIAN_INFLUX_DB: 'estate',
      ZHIAN_INFLUX_USER: 'hub',
      ZHIAN_INFLUX_PASSWORD: 'pw',
      ZHIAN_INFLUX_RETENTION: '90d',
      ZHIAN_INFLUX_BATCH_SIZE: '1000',
      ZHIAN_INFLUX_BATCH_INTERVAL_MS: '250',
      ZHIAN_INFLUX_TS_SKEW_S: '60',
      ZHIAN_JOURNAL_BACKLOG_MB: '10',
    })
    expect(v1.history).toMatchObject({
      api: 'v1',
      url: 'http://influx:8086',
      database: 'estate',
      username: 'hub',
      password: 'pw',
      retention: '90d',
      bucket: 'estate',
      batchSize: 1000,
      batchIntervalMs: 250,
    })
    // One window for ingest (rules and history alike), from ZHIAN_INFLUX_TS_SKEW_S / _MAX_AGE_S.
    expect(v1.tsWindow).toEqual({ maxFutureMs: 60_000, maxPastMs: 7 * 86_400_000 })
    expect(configFromEnv({ ZHIAN_INFLUX_TS_MAX_AGE_S: '2592000' }).tsWindow).toEqual({
      maxFutureMs: 300_000,
      maxPastMs: 30 * 86_400_000,
    })
    expect(v1.journal?.maxBacklogBytes).toBe(10 * 1024 ** 2)
    const v2 = configFromEnv({
      ZHIAN_INFLUX_URL: 'https://eu-central-1.aws.cloud2.influxdata.com',
      ZHIAN_INFLUX_API: 'v2',
      ZHIAN_INFLUX_ORG: 'street',
      ZHIAN_INFLUX_BUCKET: 'zhian',
      ZHIAN_INFLUX_TOKEN: 't0k3n',
    })
    expect(v2.history).toMatchObject({ api: 'v2', org: 'street', bucket: 'zhian', token: 't0k3n' })
  })

  it('refuses invalid values with a coded error', () => {
    expect(() => configFromEnv({ ZHIAN_INFLUX_API: 'v3' })).toThrow(/ZHIAN_INFLUX_API/)
    expect(() => configFromEnv({ ZHIAN_INFLUX_RETENTION: 'forever' })).toThrow(/ZHIAN_INFLUX_RETENTION/)
    expect(() => configFromEnv({ ZHIAN_JOURNAL: 'maybe' })).toThrow(/ZHIAN_JOURNAL/)
  })

  it('refuses history with the journal off: the shipper reads the journal, so nothing would be written', () => {
    let error: unknown
    try {
      configFromEnv({ ZHIAN_INFLUX_URL: 'http://influx:8086', ZHIAN_JOURNAL: 'off' })
    } catch (err) {
      error = err
    }
    expect(error).toMatchObject({ code: 'ZHIAN_ERR_ENV_INVALID' })
    expect(String((error as Error).message)).toMatch(/ZHIAN_JOURNAL=off/)
    // Journal off without history stays allowed (PUBACKs then do not wait for the disk).
    expect(configFromEnv({ ZHIAN_JOURNAL: 'off' }).journal?.mode).toBe('off')
  })
})
