import fs from 'node:fs'
import os from 'node:os'

/** CPU and memory of a process from /proc (Linux), as the research baselines measured them. */

const TICK = 100 // USER_HZ on Linux
export function cpuSeconds(pid: number): number {
  const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8')
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
  return (Number(fields[11]) + Number(fields[12])) / TICK // utime + stime
}

export function rssKiB(pid: number): number {
  const status = fs.readFileSync(`/proc/${pid}/status`, 'utf8')
  return Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0)
}

/** Whole-machine busy CPU seconds (all cores), to tell when the box itself was the limit. */
export function machineBusySeconds(): number {
  const line = fs.readFileSync('/proc/stat', 'utf8').split('\n')[0]!
  const [, user, nice, system, , , irq, softirq, steal] = line.trim().split(/\s+/).map(Number)
  return (user! + nice! + system! + irq! + softirq! + steal!) / TICK
}

export const CORES = os.cpus().length

export function median(values: number[]): number {
  if (values.length === 0) return Number.NaN
  const s = [...values].sort((a, b) => a - b)
  const mid = Math.floor(s.length / 2)
  return s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2
}

export function percentile(values: number[], p: number): number {
  if (values.length === 0) return Number.NaN
  const s = [...values].sort((a, b) => a - b)
  return s[Math.min(s.length - 1, Math.ceil((p / 100) * s.length) - 1)]!
}

/** Wait until the machine is quiet (< 15 % of a core for 2 s) so a rep is not measured on a busy box. */
export async function waitIdle(maxMs = 20_000): Promise<void> {
  const end = Date.now() + maxMs
  while (Date.now() < end) {
    const a = machineBusySeconds()
    await new Promise((r) => setTimeout(r, 2000))
    if ((machineBusySeconds() - a) / 2 < 0.15) return
  }
}
