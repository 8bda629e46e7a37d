import fs from 'node:fs'
import mqtt from 'mqtt'
import { describe, expect, it } from 'vitest'
import type { WorkOrder } from '../../../src/dispatch/types.ts'
import { API_TOKEN, FIXTURES, tempDir, until } from '../../helpers/hub.ts'
import { startHubProcess } from '../../helpers/hub-process.ts'

/**
 * Durations follow elapsed time: the hub runs under libfaketime (Debian `libfaketime`), its wall clock
 * stepped an hour forward (an NTP correction, a VM resumed) while a work order waits for its crew.
 * The monotonic clock is left alone, as the kernel does. No escalation step fires and no SLA breach
 * is recorded for a work order seconds old.
 */

const LIBFAKETIME = '/usr/lib/x86_64-linux-gnu/faketime/libfaketimeMT.so.1'

describe('dispatch: a wall-clock step moves no escalation or SLA', () => {
  it('a work order seconds old is neither escalated nor over its accept limit after the wall clock jumps an hour', async () => {
    expect(fs.existsSync(LIBFAKETIME), `${LIBFAKETIME} (Debian libfaketime)`).toBe(true)
    const step = `${tempDir()}/faketime`
    fs.writeFileSync(step, '+0\n')
    const hub = await startHubProcess({
      ZHIAN_DATA_DIR: tempDir(),
      ZHIAN_CONFIG: `${FIXTURES}/clock-step-estate.yaml`,
      LD_PRELOAD: LIBFAKETIME,
      FAKETIME_TIMESTAMP_FILE: step,
      FAKETIME_NO_CACHE: '1',
      FAKETIME_DONT_FAKE_MONOTONIC: '1',
    })
    const api = async <T>(path: string): Promise<T> => {
      const res = await fetch(`${hub.httpUrl}${path}`, { headers: { authorization: `Bearer ${API_TOKEN}` } })
      expect(res.status).toBe(200)
      return (await res.json()) as T
    }
    const device = await mqtt.connectAsync(hub.mqttUrl, { username: 'mh1', password: 'mh1-secret-00001' })
    await device.publishAsync('zhian/manhole/mh1/state', JSON.stringify({ cover_open: true }), { qos: 1 })
    await device.endAsync()
    const [order] = await until(async () => {
      const { items } = await api<{ items: WorkOrder[] }>('/api/work-orders')
      return items.length > 0 ? items : undefined
    }, 'the work order')
    expect(order!.status).toBe('dispatched')

    fs.writeFileSync(step, '+3600\n') // the wall clock jumps an hour ahead
    await new Promise((r) => setTimeout(r, 1000))
    // A note re-arms the order's timers; then the crew accepts, seconds after the order was opened.
    const act = (name: string) =>
      fetch(`${hub.httpUrl}/api/work-orders/${order!.id}/${name}`, {
        method: 'POST',
        headers: { authorization: `Bearer ${API_TOKEN}`, 'content-type': 'application/json' },
        body: JSON.stringify({ note: '在路上' }),
      })
    expect((await act('comment')).status).toBe(200)
    await new Promise((r) => setTimeout(r, 1000))
    expect((await act('accept')).status).toBe(200)
    const after = await api<WorkOrder & { events: { action: string }[] }>(`/api/work-orders/${order!.id}`)
    expect(after.status).toBe('accepted')
    expect(after.accepted_at! - after.dispatched_at).toBeLessThan(60_000)
    expect(after.escalation_level).toBe(0)
    expect(after.breaches).toEqual([])
    expect(after.events.map((e) => e.action)).not.toContain('escalated')
    expect(after.events.map((e) => e.action)).not.toContain('sla_breached')
    expect(after.events.map((e) => e.action)).not.toContain('reminded')
    await hub.stop()
  })
})
