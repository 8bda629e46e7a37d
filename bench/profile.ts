import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { parseArgs } from 'node:util'
import { hashGeneratedSecret } from '../src/util/secrets.ts'
import { cpuSeconds, rssKiB } from './proc.ts'
import { BENCH_SECRET, benchEstate, hubMetric, runGenerator, startZhian } from './targets.ts'

/**
 * `node --import tsx bench/profile.ts [--devices 1000] [--seconds 15] [--publishers 10] [--cpu-prof DIR]`:
 * one zhian hub (npm start's flags) under the headline load (QoS 1, 10 publishers by default), for profiling the hot path.
 * Prints messages processed per second as they go, then hub CPU µs per message and the journal's
 * records per group commit; `--cpu-prof DIR` writes the hub's V8 CPU profile there.
 */

const { values: opt } = parseArgs({
  options: {
    devices: { type: 'string', default: '1000' },
    seconds: { type: 'string', default: '15' },
    publishers: { type: 'string', default: '10' },
    'cpu-prof': { type: 'string' },
  },
})
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'zhian-profile-'))
const estateFile = benchEstate(dir, Number(opt.devices), hashGeneratedSecret(BENCH_SECRET))
const prof = opt['cpu-prof']
const hub = await startZhian({
  estateFile,
  nodeArgs: prof ? ['--cpu-prof', `--cpu-prof-dir=${path.resolve(prof)}`] : [],
})
try {
  await new Promise((r) => setTimeout(r, 3000))
  const count0 = await hub.count()
  const cpu0 = cpuSeconds(hub.pid)
  const t0 = Date.now()
  const gen = runGenerator([
    ...['--url', hub.mqttUrl, '--publishers', opt.publishers!, '--qos', '1'],
    ...['--seconds', opt.seconds!, '--secret', BENCH_SECRET],
  ])
  let last = count0
  const tick = setInterval(async () => {
    const now = await hub.count()
    process.stdout.write(`${now - last} `)
    last = now
  }, 1000)
  await gen.done
  clearInterval(tick)
  await new Promise((r) => setTimeout(r, 1500))
  const processed = (await hub.count()) - count0
  const cpu = cpuSeconds(hub.pid) - cpu0
  const commits = await hubMetric(hub.httpUrl!, 'zhian_journal_commits_total')
  const records = await hubMetric(hub.httpUrl!, 'zhian_journal_records_total')
  console.log(
    `\n${JSON.stringify({
      devices: Number(opt.devices),
      processed,
      per_s: Math.round(processed / ((Date.now() - t0 - 1500) / 1000)),
      hub_cpu_us_per_msg: Math.round((cpu * 1e7) / processed) / 10,
      hub_rss_mib: Math.round(rssKiB(hub.pid) / 1024),
      records_per_commit: Math.round(records / Math.max(1, commits)),
    })}`,
  )
} finally {
  await hub.stop()
  fs.rmSync(dir, { recursive: true, force: true })
}
