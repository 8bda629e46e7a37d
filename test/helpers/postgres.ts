import type { ChildProcess } from 'node:child_process'
import crypto from 'node:crypto'
import { afterAll } from 'vitest'
import { stopProcess } from './influxd.ts'
import { launchPostgres, psql, type Server } from './servers.ts'

/**
 * A fresh, empty PostgreSQL database for a test (a cluster's shared store): on the suite's server in
 * the PostgreSQL run, else on a private server started for the file and stopped after it.
 */

const running = new Set<ChildProcess>()
let own: Promise<Server> | undefined
afterAll(async () => {
  await Promise.all([...running].map((p) => stopProcess(p)))
  running.clear()
  own = undefined
})

export async function freshDatabase(): Promise<string> {
  let server = process.env.ZHIAN_TEST_POSTGRES
  if (!server) {
    own ??= launchPostgres({
      onSpawn: (p) => running.add(p),
      onStop: (p) => running.delete(p),
      durable: false,
    })
    server = (await own).url
  }
  const name = `c_${crypto.randomBytes(8).toString('hex')}`
  psql(server, `CREATE DATABASE ${name}`)
  const url = new URL(server)
  url.pathname = `/${name}`
  return url.toString()
}
