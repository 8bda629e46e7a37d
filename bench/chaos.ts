import { parseArgs } from 'node:util'
import { formatReport, runChaos } from '../test/chaos/harness.ts'

/**
 * `npm run chaos -- --minutes N [--seed S] [--devices D] [--storm C] [--keep]`: the chaos test's harness
 * (test/chaos/harness.ts) run for as long as you like. Prints progress, then the figures it checked;
 * exits 1 when anything acknowledged was lost or anything was doubled.
 */

const { values: opt } = parseArgs({
  options: {
    minutes: { type: 'string', default: '10' },
    seed: { type: 'string' },
    /** Traffic devices (default 24). */
    devices: { type: 'string' },
    /** Devices that report once per (re)connect: the size of each reconnect storm (default 60). */
    storm: { type: 'string' },
    /** Keep the run directory (hub logs, data dir) even when every check passed. */
    keep: { type: 'boolean', default: false },
  },
})

const minutes = Number(opt.minutes)
if (!(minutes > 0)) {
  console.error('usage: npm run chaos -- --minutes N [--seed S] [--devices D] [--storm C] [--keep]')
  process.exit(2)
}
const seed = opt.seed !== undefined ? Number(opt.seed) : Math.floor(Math.random() * 2 ** 31)
const report = await runChaos({
  seed,
  chaosMs: minutes * 60_000,
  ...(opt.devices ? { trafficDevices: Number(opt.devices) } : {}),
  ...(opt.storm ? { stormDevices: Number(opt.storm) } : {}),
  keepRunDir: opt.keep ?? false,
  log: (line) => console.log(line),
})
console.log(formatReport(report))
process.exit(report.problems.length === 0 ? 0 : 1)
