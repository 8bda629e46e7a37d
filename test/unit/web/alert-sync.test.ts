import { describe, expect, it } from 'vitest'
import type { Alert } from '../../../src/alerts/types.ts'
import { AlertSync } from '../../../src/web/app/alert-sync.ts'

/** The dashboard's re-sync: an HTTP snapshot of open alerts racing `alert` events on the socket. */
describe('alert re-sync merge', () => {
  const at = 1_000_000
  const alert = (id: string, over: Partial<Alert> = {}): Alert => ({
    id,
    subject: 'lift1',
    type: 'elevator.trapped',
    kind: 'elevator',
    device_id: 'lift1',
    street: 's1',
    community: 'c1',
    estate: 'e1',
    building: 'e1_b1',
    severity: 'critical',
    status: 'active',
    condition: 'raised',
    suppressed: false,
    suppressed_reason: null,
    latched: true,
    crew: 'elevator_contractor',
    assigned_team: null,
    title: { zh: '困人', en: 'Trapped' },
    message: { zh: '', en: '' },
    values: {},
    occurrences: 1,
    first_at: at,
    last_at: at,
    cleared_at: null,
    acknowledged_at: null,
    resolved_at: null,
    ...over,
  })

  it('keeps an alert raised while the snapshot was in flight, and drops one resolved meanwhile', () => {
    const sync = new AlertSync()
    const seen = sync.begin()
    sync.record(alert('new'))
    sync.record(alert('gone', { status: 'resolved', resolved_at: at + 5 }))
    // The snapshot was read before either change reached the hub.
    const open = sync.finish(seen, [alert('gone'), alert('old')])
    expect([...open.keys()].sort()).toEqual(['new', 'old'])
  })

  it('keeps the newer copy by id: a snapshot newer than a late event wins, the event wins a tie', () => {
    const sync = new AlertSync()
    const seen = sync.begin()
    sync.record(alert('a')) // raised; the snapshot already has it acknowledged
    sync.record(alert('b', { assigned_team: 'property_duty' })) // assign moves no timestamp
    const open = sync.finish(seen, [
      alert('a', { status: 'acknowledged', acknowledged_at: at + 10 }),
      alert('b'),
    ])
    expect(open.get('a')).toMatchObject({ status: 'acknowledged' })
    expect(open.get('b')).toMatchObject({ assigned_team: 'property_duty' })
  })

  it('forgets events once the re-sync ends, and after a failed one', () => {
    const sync = new AlertSync()
    const failed = sync.begin()
    sync.abandon(failed)
    const first = sync.begin()
    sync.finish(first, [])
    sync.record(alert('later'))
    const second = sync.begin()
    expect([...sync.finish(second, [alert('x')]).keys()]).toEqual(['x'])
  })
})
