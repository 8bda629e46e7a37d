import crypto from 'node:crypto'
import type { Device } from '../core/bus.ts'
import { ZhianError } from '../errors.ts'
import type { Gates } from '../rules/engine.ts'
import type { Db } from '../store/db.ts'

/**
 * Silences (a device or a site node, all or some alert types, until a time, with a reason) and
 * device maintenance mode. Alerts raised under either are still recorded, as suppressed. Tables
 * come with the alert store's migrations; both are cached in memory because the rule path asks
 * on every raise.
 */

export interface Silence {
  id: string
  device_id: string | null
  site_id: string | null
  /** Alert ids (`<kind>.<type>`); null = every type. */
  types: string[] | null
  reason: string
  created_by: string
  created_at: number
  /** A silence starting later is a maintenance window. */
  starts_at: number
  ends_at: number
  ended_at: number | null
}

export interface Maintenance {
  device_id: string
  reason: string | null
  set_by: string
  since: number
  /** null = until switched off. */
  until: number | null
}

interface SilenceRow extends Omit<Silence, 'types'> {
  types: string | null
}

export class Gating implements Gates {
  private silences: Silence[] = []
  private readonly maintenance = new Map<string, Maintenance>()
  private readonly watchers = new Set<() => void>()

  constructor(
    private readonly db: Db,
    private readonly now: () => number = Date.now,
  ) {}

  /** Load; the alert store's migrations must have run. */
  start(): void {
    const rows = this.db
      .prepare('SELECT * FROM silences WHERE ended_at IS NULL AND ends_at > ?')
      .all(this.now()) as SilenceRow[]
    this.silences = rows.map((r) => ({ ...r, types: r.types ? (JSON.parse(r.types) as string[]) : null }))
    this.maintenance.clear()
    for (const m of this.db.prepare('SELECT * FROM device_maintenance').all() as Maintenance[]) {
      this.maintenance.set(m.device_id, m)
    }
  }

  suppression(device: Device | undefined, estate: string, alert: string, at: number): string | undefined {
    if (device) {
      const m = this.maintenance.get(device.id)
      if (m && (m.until === null || m.until > at)) return 'maintenance'
    }
    const site = device?.site
    for (const s of this.silences) {
      if (s.ends_at <= at || s.starts_at > at || s.ended_at !== null) continue
      if (s.types && !s.types.includes(alert)) continue
      const hit = s.device_id
        ? s.device_id === device?.id
        : s.site_id === estate ||
          (site !== undefined &&
            (s.site_id === site.street || s.site_id === site.community || s.site_id === site.building))
      if (hit) return `silence:${s.id}`
    }
    return undefined
  }

  /** The next start or end of a silence or maintenance mode after `at` (the rule engine looks again then). */
  nextChange(at: number): number | undefined {
    let next: number | undefined
    const consider = (t: number | null) => {
      if (t !== null && t > at && (next === undefined || t < next)) next = t
    }
    for (const s of this.silences) {
      if (s.ended_at !== null) continue
      consider(s.starts_at)
      consider(s.ends_at)
    }
    for (const m of this.maintenance.values()) consider(m.until)
    return next
  }

  /** Told when a silence or maintenance mode is added, ended or switched off. */
  watch(fn: () => void): () => void {
    this.watchers.add(fn)
    return () => this.watchers.delete(fn)
  }

  private changed(): void {
    for (const fn of this.watchers) fn()
  }

  activeSilences(at = this.now()): Silence[] {
    this.silences = this.silences.filter((s) => s.ends_at > at && s.ended_at === null)
    return [...this.silences]
  }

  getSilence(id: string): Silence | undefined {
    const row = this.db.prepare('SELECT * FROM silences WHERE id = ?').get(id) as SilenceRow | undefined
    return row ? { ...row, types: row.types ? (JSON.parse(row.types) as string[]) : null } : undefined
  }

  addSilence(input: {
    device_id: string | null
    site_id: string | null
    types: string[] | null
    reason: string
    created_by: string
    starts_at?: number | undefined
    ends_at: number
  }): Silence {
    const now = this.now()
    const silence: Silence = {
      id: `si_${crypto.randomBytes(6).toString('hex')}`,
      ...input,
      starts_at: input.starts_at ?? now,
      created_at: now,
      ended_at: null,
    }
    this.db
      .prepare(
        `INSERT INTO silences (id, device_id, site_id, types, reason, created_by, created_at, starts_at, ends_at, ended_at)
         VALUES (@id, @device_id, @site_id, @types, @reason, @created_by, @created_at, @starts_at, @ends_at, NULL)`,
      )
      .run({ ...silence, types: silence.types ? JSON.stringify(silence.types) : null })
    this.silences.push(silence)
    this.changed()
    return silence
  }

  /** End a silence now (kept for the record). */
  endSilence(id: string): Silence {
    const at = this.now()
    const changed = this.db
      .prepare('UPDATE silences SET ended_at = ? WHERE id = ? AND ended_at IS NULL AND ends_at > ?')
      .run(at, id, at).changes
    if (changed === 0) throw new ZhianError('ZHIAN_ERR_UNKNOWN_SILENCE', id)
    this.silences = this.silences.filter((s) => s.id !== id)
    this.changed()
    return this.getSilence(id)!
  }

  maintenanceOf(deviceId: string, at = this.now()): Maintenance | undefined {
    const m = this.maintenance.get(deviceId)
    return m && (m.until === null || m.until > at) ? m : undefined
  }

  setMaintenance(
    deviceId: string,
    on: boolean,
    by: string,
    reason: string | null,
    until: number | null,
  ): void {
    if (!on) {
      this.db.prepare('DELETE FROM device_maintenance WHERE device_id = ?').run(deviceId)
      this.maintenance.delete(deviceId)
      this.changed()
      return
    }
    const m: Maintenance = { device_id: deviceId, reason, set_by: by, since: this.now(), until }
    this.db
      .prepare(
        `INSERT INTO device_maintenance (device_id, reason, set_by, since, until) VALUES (@device_id, @reason, @set_by, @since, @until)
         ON CONFLICT(device_id) DO UPDATE SET reason = excluded.reason, set_by = excluded.set_by, since = excluded.since, until = excluded.until`,
      )
      .run(m)
    this.maintenance.set(deviceId, m)
    this.changed()
  }
}
