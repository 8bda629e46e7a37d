import type { TestProject } from 'vitest/node'
import { launchPostgres, type Server } from './servers.ts'

/**
 * The suite's second run (`ZHIAN_TEST_STORE=postgres`, part of `npm test`): one private PostgreSQL
 * server for the run; every data directory a test opens gets its own database on it (src/store/db.ts),
 * so the whole suite runs unchanged against the PostgreSQL store. A missing server fails the run.
 */

let server: Server | undefined

export async function setup(project: TestProject): Promise<void> {
  if (process.env.ZHIAN_TEST_STORE !== 'postgres') return
  // Not durable: the suite kills hubs, never this server (see launchPostgres), and the run is 2× faster.
  server = await launchPostgres({ durable: false })
  project.provide('postgresUrl', server.url)
  // Hub processes the tests spawn inherit it too.
  process.env.ZHIAN_TEST_POSTGRES = server.url
}

export async function teardown(): Promise<void> {
  await server?.stop()
}

declare module 'vitest' {
  export interface ProvidedContext {
    postgresUrl: string | undefined
  }
}
