import { describe, expect, it } from 'vitest'
import { findScenario } from '../../../simulators/scenario-runner.ts'
import type { Alert } from '../../../src/alerts/types.ts'
import { localParts, ymd } from '../../../src/reports/period.ts'
import { playScenario } from '../simulators/run-scenario.ts'
import { allAlerts, reportJson } from './rig.ts'

/**
 * The demo estate 前新福苑 driven by the `lift-faults` scenario (simulated lifts over real MQTT,
 * rule durations compressed to the speed): the report's alert counts and lift ranking are what the
 * hub raised, and its alert types are exactly the scenario's.
 */

// GB/T 24476 faults as `elevator.frequent_faults` counts them (README "Reports").
const FAULTS = new Set(
  [
    'trapped',
    'moving_door_open',
    'overtravel_top',
    'overtravel_bottom',
    'overspeed',
    'stopped_outside_zone',
    'safety_circuit_open',
    'door_fault',
    'restart_blocked',
    'power_loss',
  ].map((t) => `elevator.${t}`),
)
const DAY = 86_400_000

describe('report of a scenario', () => {
  it('lift-faults on the demo estate: counts per type and the lift ranking equal what the hub raised', {
    timeout: 150_000,
  }, async () => {
    const scenario = findScenario('lift-faults')
    const { hub: h, fleet } = await playScenario('lift-faults', 45)
    expect(fleet.stats.rejected).toBe(0)
    // Yesterday to tomorrow: wherever the simulated clock put the scenario today.
    const tz = 'Asia/Shanghai'
    const period = `${ymd(localParts(Date.now() - DAY, tz))}..${ymd(localParts(Date.now() + DAY, tz))}`
    const r = await reportJson(h, `scope=qianxin_fuyuan&period=${period}`)
    const raised: Alert[] = (await allAlerts(h, '&site=qianxin_fuyuan')).filter(
      (a) => !a.suppressed && a.first_at >= r.period.from && a.first_at < r.period.to,
    )
    const byType: Record<string, number> = {}
    for (const a of raised) byType[a.type] = (byType[a.type] ?? 0) + 1
    expect(Object.fromEntries(r.alerts.map((a) => [a.type, a.count]))).toEqual(byType)
    expect(r.alerts.map((a) => a.type).sort()).toEqual([...scenario.expect].sort())
    expect(r.title.zh).toContain('前新福苑')

    const faults = new Map<string, number>()
    for (const a of raised)
      if (FAULTS.has(a.type)) faults.set(a.device_id!, (faults.get(a.device_id!) ?? 0) + 1)
    expect(Object.fromEntries(r.lifts.rows.map((l) => [l.device_id, l.faults]))).toEqual(
      Object.fromEntries(faults),
    )
    // Most faults first; the six lifts the scenario drives all had at least one.
    expect(r.lifts.rows.map((l) => l.faults)).toEqual([...faults.values()].sort((a, b) => b - a))
    expect(r.lifts.rows).toHaveLength(6)
    const trapped = r.lifts.rows.filter((l) => l.trapped > 0).map((l) => l.device_id)
    expect(trapped.sort()).toEqual(['elev_b1_1', 'elev_b1_2'])
  })
})
