import type { ChildProcess } from 'node:child_process'
import { afterAll } from 'vitest'
import { stopProcess } from './influxd.ts'
import { launchRedis, type Server } from './servers.ts'

/** A real Redis for tests (servers.ts), stopped after the file. Missing redis-server fails the test. */

const running = new Set<ChildProcess>()
afterAll(async () => {
  await Promise.all([...running].map((p) => stopProcess(p)))
  running.clear()
})

export function startRedis(): Promise<Server> {
  return launchRedis({ onSpawn: (p) => running.add(p), onStop: (p) => running.delete(p) })
}
