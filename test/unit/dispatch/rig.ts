import fs from 'node:fs'
import path from 'node:path'
import { afterEach } from 'vitest'
import { AlertStore } from '../../../src/alerts/store.ts'
import type { Alert, AuditEntry, Severity } from '../../../src/alerts/types.ts'
import { parseEstate } from '../../../src/config/estate-file.ts'
import { Bus, type Bus as BusType, type Device } from '../../../src/core/bus.ts'
import { type Clock, FakeClock, RealClock } from '../../../src/core/clock.ts'
import { Metrics } from '../../../src/core/metrics.ts'
import type { DispatchConfig } from '../../../src/dispatch/config.ts'
import { Dispatcher, type DispatcherOptions } from '../../../src/dispatch/dispatcher.ts'
import type { RetryPolicy } from '../../../src/dispatch/outbox.ts'
import type { RuleSignal } from '../../../src/rules/engine.ts'
import { type Db, openDb } from '../../../src/store/db.ts'
import { createLogger } from '../../../src/util/logger.ts'
import { FIXTURES, tempDir } from '../../helpers/hub.ts'
import type { Receiver } from '../../integration/dispatch/receiver.ts'

/**
 * Dispatch on a real SQLite file with the real alert store and bus: work-order timers on a fake clock,
 * the outbox on the real clock so notifications really reach the loopback receivers at once.
 */

const open: { db: Db; dispatcher: Dispatcher }[] = []
afterEach(async () => {
  for (const o of open.splice(0)) {
    await o.dispatcher.stop()
    o.db.close()
  }
})

/** Monday 2026-01-05 10:00 in Asia/Shanghai. */
export const MONDAY_10H = Date.UTC(2026, 0, 5, 2, 0)
export const MIN = 60_000

export function fixtureConfig(receiver: Receiver) {
  const text = fs
    .readFileSync(path.join(FIXTURES, 'dispatch-estate.yaml'), 'utf8')
    .replaceAll('http://127.0.0.1:1/', `${receiver.base}/`)
  const e = parseEstate(text)
  return { teams: e.teams, roster: e.roster, routing: e.routing }
}

export interface DispatchRig {
  db: Db
  dataDir: string
  bus: BusType
  clock: FakeClock
  alerts: AlertStore
  dispatcher: Dispatcher
  metrics: Metrics
  alertEvents: { alert: Alert; entry: AuditEntry }[]
  raise: (s?: Partial<RuleSignal>) => Promise<Alert>
}

export async function dispatchRig(
  receiver: Receiver,
  options: {
    dataDir?: string
    retry?: Partial<RetryPolicy>
    outboxClock?: Clock
    clock?: FakeClock
    /** Changes to the fixture's teams, roster and routing before the dispatcher starts. */
    edit?: (config: DispatchConfig) => void
    names?: DispatcherOptions['names']
  } = {},
): Promise<DispatchRig> {
  const dataDir = options.dataDir ?? tempDir('zhian-dispatch-')
  const db = openDb(dataDir)
  const bus = new Bus()
  const clock = options.clock ?? new FakeClock(MONDAY_10H)
  const log = createLogger('silent')
  const alerts = new AlertStore({ db, bus, log, now: () => clock.now() })
  alerts.start()
  const metrics = new Metrics()
  const dispatcher = new Dispatcher({
    db,
    bus,
    alerts,
    log,
    metrics,
    clock,
    outboxClock: options.outboxClock ?? new RealClock(),
    retry: { baseMs: 50, maxMs: 400, ...options.retry },
    linkBase: () => 'http://hub.test',
    names: options.names,
  })
  const config = fixtureConfig(receiver)
  options.edit?.(config)
  dispatcher.start(config)
  open.push({ db, dispatcher })
  const alertEvents: { alert: Alert; entry: AuditEntry }[] = []
  bus.on('alert', (e) => alertEvents.push(e))
  const raise = async (s: Partial<RuleSignal> = {}) => {
    alerts.apply(trapped(clock.now(), s))
    // Dispatch handles an alert change after every listener saw it.
    await flush()
    const subject = s.subject ?? 'lift1'
    return alerts.openFor(subject, s.alert ?? 'elevator.trapped')!
  }
  return { db, dataDir, bus, clock, alerts, dispatcher, metrics, alertEvents, raise }
}

export const flush = () => new Promise((r) => setImmediate(r))

export function trapped(at: number, s: Partial<RuleSignal> = {}): RuleSignal {
  const estate = s.site?.estate ?? 'e1'
  const device = {
    id: s.subject ?? 'lift1',
    kind: 'elevator',
    estate,
    building: estate === 'e1' ? 'e1_b1' : undefined,
    name: '1号楼1号电梯',
    location: undefined,
    params: {},
    site: { street: 's1', community: 'c1', estate, building: estate === 'e1' ? 'e1_b1' : undefined },
  } as Device
  return {
    op: 'raise',
    alert: 'elevator.trapped',
    kind: 'elevator',
    subject: device.id,
    device,
    site: device.site,
    severity: 'critical' as Severity,
    latched: true,
    crew: 'elevator_contractor',
    title: { zh: '困人', en: 'Passenger trapped' },
    message: {
      zh: '1号楼1号电梯 5层困人(平层) 已持续 60 秒',
      en: '1号楼1号电梯: passenger trapped at floor 5 (at floor level) for 60 s',
    },
    values: { floor: 5 },
    at,
    suppressed: null,
    retrigger: false,
    ...s,
  }
}
