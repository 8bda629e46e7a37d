import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import mqtt, { type IClientOptions, type MqttClient } from 'mqtt'
import { afterAll, onTestFinished } from 'vitest'
import { Hub } from '../../src/app.ts'
import type { HubConfig } from '../../src/config/env.ts'

/**
 * buildHub(): a real hub on port 0 with its own temp data dir, torn down automatically — after the
 * test when called inside one, after the file when called from beforeAll.
 */

export const FIXTURES = path.resolve(import.meta.dirname, '../fixtures')
export const SMALL_ESTATE = path.join(FIXTURES, 'small-estate.yaml')
export const DEMO_ESTATE = path.resolve(import.meta.dirname, '../../simulators/estates/demo.yaml')
export const API_TOKEN = 'test-api-token-0123456789'

export interface TestHub {
  hub: Hub
  mqttUrl: string
  httpUrl: string
  dataDir: string
  /** fetch against the hub with the admin token. */
  api: (pathname: string, init?: RequestInit) => Promise<Response>
  close: () => Promise<void>
}

export interface BuildOptions {
  estateFile?: string | undefined
  /** Reuse a data dir (restart tests). */
  dataDir?: string
  config?: Partial<HubConfig>
}

const open = new Set<TestHub>()
afterAll(async () => {
  await Promise.all([...open].map((h) => h.close()))
})

export function tempDir(prefix = 'zhian-test-'): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), prefix))
}

export function testConfig(dataDir: string, overrides: Partial<HubConfig> = {}): HubConfig {
  return {
    dataDir,
    estateFile: SMALL_ESTATE,
    baseTopic: 'zhian',
    mqtt: { host: '127.0.0.1', port: 0 },
    tls: undefined,
    http: { host: '127.0.0.1', port: 0 },
    logLevel: (process.env.ZHIAN_TEST_LOG as HubConfig['logLevel']) ?? 'silent',
    maxPayloadBytes: 8192,
    deviceRate: { perSecond: 10_000, burst: 100_000 },
    apiToken: API_TOKEN,
    ...overrides,
  }
}

export async function buildHub(options: BuildOptions = {}): Promise<TestHub> {
  const dataDir = options.dataDir ?? tempDir()
  const config = testConfig(dataDir, {
    ...('estateFile' in options ? { estateFile: options.estateFile } : {}),
    ...options.config,
  })
  const hub = new Hub(config)
  await hub.start()
  let closed = false
  const testHub: TestHub = {
    hub,
    dataDir,
    mqttUrl: `mqtt://127.0.0.1:${hub.broker.mqttPort}`,
    httpUrl: `http://127.0.0.1:${hub.httpPort}`,
    api: (pathname, init = {}) =>
      fetch(`http://127.0.0.1:${hub.httpPort}${pathname}`, {
        ...init,
        headers: { authorization: `Bearer ${API_TOKEN}`, ...(init.headers ?? {}) },
      }),
    close: async () => {
      if (closed) return
      closed = true
      open.delete(testHub)
      await hub.stop()
    },
  }
  open.add(testHub)
  try {
    onTestFinished(() => testHub.close())
  } catch {
    // called from beforeAll: the file-level afterAll above closes it
  }
  return testHub
}

/** Secrets of the fixture estates follow one rule, so tests can connect any device by id. */
export function secretOf(id: string): string {
  const known: Record<string, string> = {
    lift1: 'lift1-secret-0001',
    lift2: 'lift2-secret-0002',
    fp1: 'fp1-secret-00001',
    mh1: 'mh1-secret-00001',
    pb1: 'pb1-secret-00001',
    pb2: 'pb2-secret-00002',
    e2_lift1: 'e2lift1-secret-01',
  }
  return known[id] ?? `demo-secret-${id}`
}

/** A device connection with mqtt.js (MQTT 3.1.1, no automatic reconnect), closed after the test. */
export async function connectDevice(
  url: string,
  id: string,
  options: IClientOptions = {},
): Promise<MqttClient> {
  const client = await mqtt.connectAsync(url, {
    username: id,
    password: secretOf(id),
    protocolVersion: 4,
    reconnectPeriod: 0,
    connectTimeout: 5000,
    ...options,
  })
  try {
    onTestFinished(() => client.endAsync(true))
  } catch {
    // outside a test: caller ends it
  }
  return client
}

/** Collect messages on a topic until `count` arrived or the timeout passed. */
export function collect(
  client: MqttClient,
  topic: string,
  count: number,
  timeoutMs = 5000,
): Promise<string[]> {
  return new Promise((resolve) => {
    const got: string[] = []
    const done = () => {
      clearTimeout(timer)
      client.off('message', onMessage)
      resolve(got)
    }
    const onMessage = (t: string, payload: Buffer) => {
      if (t !== topic) return
      got.push(payload.toString())
      if (got.length >= count) done()
    }
    const timer = setTimeout(done, timeoutMs)
    client.on('message', onMessage)
  })
}

/** Wait until `check` returns a truthy value, polling; throws with `what` on timeout. */
export async function until<T>(
  check: () => T | Promise<T>,
  what: string,
  timeoutMs = 5000,
): Promise<NonNullable<T>> {
  const end = Date.now() + timeoutMs
  for (;;) {
    const value = await check()
    if (value) return value as NonNullable<T>
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`)
    await new Promise((r) => setTimeout(r, 25))
  }
}
