import fs from 'node:fs'

/**
 * Preloaded into a hub started by hub-process.ts (`--import`): answers the test's memory questions
 * over the IPC channel, from inside the hub process. It only reads; the hub's code is unchanged.
 */

function peakRssBytes(): number {
  const kb = /VmHWM:\s+(\d+) kB/.exec(fs.readFileSync('/proc/self/status', 'utf8'))?.[1]
  return Number(kb) * 1024
}

process.on('message', (msg: { id: number; op: 'sample' | 'reset-peak' }) => {
  if (msg.op === 'reset-peak') {
    fs.writeFileSync('/proc/self/clear_refs', '5') // resets VmHWM to the current RSS (Linux proc(5))
  }
  // Collect twice: the first pass runs finalizers that free Buffers' external memory on the second.
  globalThis.gc?.()
  globalThis.gc?.()
  const m = process.memoryUsage()
  process.send?.({
    id: msg.id,
    rss: m.rss,
    peakRss: peakRssBytes(),
    heapUsed: m.heapUsed,
    external: m.external,
    arrayBuffers: m.arrayBuffers,
  })
})
// The channel must not keep the hub alive after SIGTERM, nor the hub wait on it.
process.channel?.unref()
