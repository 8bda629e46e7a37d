#!/usr/bin/env node
// Runs the TypeScript sources through tsx, so `npx zhian …` works without a build step.
import { spawnSync } from 'node:child_process'
import { fileURLToPath } from 'node:url'

// The same node flags as `npm start` and the Dockerfile: a 64 MiB young generation (V8's default is
// 16) keeps the hub's short-lived per-message objects out of the old generation; README Performance.
const NODE_FLAGS = ['--max-semi-space-size=64']

const main = fileURLToPath(new URL('../src/main.ts', import.meta.url))
const result = spawnSync(
  process.execPath,
  [...NODE_FLAGS, '--import', 'tsx', main, ...process.argv.slice(2)],
  {
    stdio: 'inherit',
  },
)
process.exit(result.status ?? 1)
