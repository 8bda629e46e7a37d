import fs from 'node:fs'
import { describe, expect, expectTypeOf, it } from 'vitest'
import type { Alert, AuditEntry } from '../../../src/alerts/types.ts'
import { Bus, type BusEvents } from '../../../src/core/bus.ts'
import type { WorkOrder, WorkOrderEvent } from '../../../src/dispatch/types.ts'

describe('the hub bus', () => {
  it('delivers each event to its listeners until they unsubscribe', () => {
    const bus = new Bus()
    const seen: string[] = []
    const off = bus.on('device_removed', ({ id }) => seen.push(id))
    bus.emit('device_removed', { id: 'lift-1' })
    off()
    bus.emit('device_removed', { id: 'lift-2' })
    expect(seen).toEqual(['lift-1'])
  })

  it('types the events features declare in their own folders exactly', () => {
    expectTypeOf<BusEvents['alert']>().toEqualTypeOf<{ alert: Alert; entry: AuditEntry; replica?: boolean }>()
    expectTypeOf<BusEvents['work_order']>().toEqualTypeOf<{
      work_order: WorkOrder
      event: WorkOrderEvent
      replica?: boolean
    }>()
    const bus = new Bus()
    bus.on('alert', (change) => expectTypeOf(change.entry).toEqualTypeOf<AuditEntry>())
    // @ts-expect-error an event nobody declared
    bus.on('no_such_event', () => {})
    // @ts-expect-error a payload of another event
    bus.emit('work_order', { alert: {} as Alert, entry: {} as AuditEntry })
  })

  it('depends on no feature: features add their events to it, not the other way round', () => {
    const source = fs.readFileSync(new URL('../../../src/core/bus.ts', import.meta.url), 'utf8')
    const imports = [...source.matchAll(/from '([^']+)'/g)].map((m) => m[1])
    // The device catalogue's kind ids and the journal position a device message carries.
    expect(imports.filter((i) => i!.startsWith('.'))).toEqual([
      '../../devices/index.ts',
      '../journal/journal.ts',
    ])
  })
})
