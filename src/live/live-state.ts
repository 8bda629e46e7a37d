import { KINDS, kindOf } from '../../devices/index.ts'
import { onlineWindowMs, type ZoneAggregate, zoneOf } from '../../devices/types.ts'
import type { Alert, Severity } from '../alerts/types.ts'
import { SEVERITIES } from '../alerts/types.ts'
import type { Principal } from '../auth/principal.ts'
import { inScope, siteIds } from '../auth/scope.ts'
import type { Bus, Device } from '../core/bus.ts'
import { ERRORS, type ErrorCode } from '../errors.ts'
import type { Refusal } from '../ingest/ingest.ts'
import type { Registry, Site } from '../registry/registry.ts'

/** The dashboard's picture of one device: its last values merged, and whether it is alive. */
export interface DeviceLive {
  id: string
  kind: Device['kind']
  name: string | null
  location: string | null
  estate: string
  building: string | null
  site: Device['site']
  params: Record<string, unknown>
  /** Its device model (`<vendor>/<model>`), null when it speaks zhian's own JSON. */
  model: string | null
  /** How the platform it reports through knows it (DevEUI, IMEI, the platform's device id). */
  identity: NonNullable<Device['identity']> | null
  /** The last message the hub refused from it, with how many since the hub started; null when none. */
  last_error: LastError | null
  /** Last value of every field the device ever reported (devices report on change). */
  values: Record<string, unknown>
  /** Device time of the last reading. */
  ts: number | null
  /** Hub time of the last message of any kind. */
  last_seen: number | null
  /** Since when each field has had its current value (fire-passage "blocked for 3 min"). */
  since: Record<string, number>
  online: boolean
  open_alerts: number
  worst_severity: Severity | null
}

/** A refused message as the device page shows it: the catalogue's text, never the payload. */
export interface LastError {
  code: ErrorCode
  zh: string
  en: string
  detail: string | null
  at: number
  /** `mqtt`, or `connector:<id>`. */
  via: string
  /** Refused messages of this device since the hub started. */
  count: number
}

export type SeverityCounts = Record<Severity, number>

export interface SiteRollup extends Site {
  devices: number
  offline: number
  open: SeverityCounts
  parking: { total: number; free: number; unknown: number }
}

export interface ParkingZone {
  estate: string
  zone: string
  /** What people read: the estate file's name for the zone (`zones` on the estate), else its id. */
  name: string
  total: number
  occupied: number
  free: number
  /** Bays that never reported. */
  unknown: number
}

interface DeviceState {
  values: Record<string, unknown>
  since: Record<string, number>
  ts: number | null
  lastSeen: number | null
  availability: boolean | null
  intervalS: number | null
  /** Online as last pushed to the dashboards: the sweep compares against it. */
  shown: boolean
  lastError: LastError | null
}

/**
 * Offline when the device said so, or when it was silent for its kind's offline window (`onlineWindowMs`
 * in devices/: interval × missed + grace, the window of the `<kind>.offline` alert with the kind's
 * defaults), so the dashboard shows a device offline when its alert is due, not before. Missed
 * heartbeats make no event, so a sweep looks for devices that fell silent and pushes them as changed
 * (device list, estate view, roll-up offline counts); every window is at least a few minutes long, so a
 * 5 s sweep costs nothing visible.
 */
export const SWEEP_MS = 5000

/**
 * Live state for the dashboard: last reading per device, online/offline/last seen, parking occupancy per
 * estate and zone, and roll-up counts per site node. Parking per zone is the rule engine's own aggregate
 * when it runs (one source for the numbers and the parking alerts); roll-ups count bays from readings here.
 * Fed by the bus only; every update is O(1) so ingest never waits on the dashboard.
 */
export class LiveState {
  private readonly state = new Map<string, DeviceState>()
  private readonly alerts = new Map<string, Alert>()
  /** Open alert ids per device, so a device's view does not scan every alert. */
  private readonly byDevice = new Map<string, Set<string>>()
  private readonly dirty = new Set<string>()
  private readonly off: (() => void)[] = []
  private sweeper: NodeJS.Timeout | undefined
  /** registry.list() sorts every device (150 ms at 120k): reuse it, refreshed on add/remove or every 5 s. */
  private devicesCache: Device[] | undefined
  private devicesCachedAt = 0
  /** Bumped on every change that can move a roll-up count. */
  version = 0

  constructor(
    private readonly bus: Bus,
    private readonly registry: Registry,
    private readonly now: () => number = Date.now,
    /** The rule engine's zone aggregates, when it runs: the same numbers its parking alerts use. */
    private readonly zones?: (estate?: string) => ZoneAggregate[],
    /** Display names of an estate's zones (the estate file's `zones`). */
    private readonly zoneNames: (estate: string) => Record<string, string> = () => ({}),
  ) {}

  start(): void {
    this.off.push(
      this.bus.on('reading', (r) => {
        const s = this.entry(r.device.id)
        for (const [k, v] of Object.entries(r.values)) {
          if (s.values[k] !== v) s.since[k] = r.ts
          s.values[k] = v
        }
        s.ts = r.ts
        this.seen(r.device.id, s, r.receivedAt)
      }),
      this.bus.on('device_event', (e) => this.seen(e.device.id, this.entry(e.device.id), e.receivedAt)),
      this.bus.on('availability', (a) => {
        const s = this.entry(a.device.id)
        s.availability = a.online
        if (a.online) s.lastSeen = a.at
        this.touch(a.device.id)
      }),
      this.bus.on('device_info', (i) => {
        const s = this.entry(i.device.id)
        const interval = i.info.interval_s
        if (typeof interval === 'number' && interval > 0) s.intervalS = interval
        this.seen(i.device.id, s, i.at)
      }),
      // A refusal is not a sign of life for the online window (a garbled frame may be anyone's retry),
      // so it only records the error.
      this.bus.on('device_refused', (r) => this.refused(r)),
      this.bus.on('device_added', ({ device }) => {
        this.devicesCache = undefined
        this.touch(device.id)
      }),
      this.bus.on('device_removed', ({ id }) => {
        this.devicesCache = undefined
        this.state.delete(id)
        this.version++
      }),
      this.bus.on('alert', ({ alert }) => this.track(alert)),
    )
    this.sweeper = setInterval(() => this.sweep(), SWEEP_MS)
    this.sweeper.unref()
  }

  stop(): void {
    for (const off of this.off.splice(0)) off()
    clearInterval(this.sweeper)
    this.sweeper = undefined
  }

  /**
   * Devices whose online state changed by the clock alone (silent past its offline window) are
   * marked changed, so the next live push carries them. Only devices that ever talked can change this
   * way; returns how many did.
   */
  sweep(): number {
    const t = this.now()
    let changed = 0
    for (const [id, s] of this.state) {
      if (!s.shown) continue
      const d = this.registry.get(id)
      if (!d || this.isOnline(d, t)) continue
      s.shown = false
      this.touch(id)
      changed++
    }
    return changed
  }

  /** Open alerts known at start (from the alert store), so counts are right before the first transition. */
  seed(alerts: Alert[]): void {
    for (const a of alerts) this.track(a, false)
    this.version++
  }

  openAlerts(principal: Pick<Principal, 'scope'>): Alert[] {
    return [...this.alerts.values()].filter((a) => inScope(principal, a))
  }

  /** Forget the changed devices unseen: nobody watches live (a new watcher loads the current state). */
  discardDirty(): void {
    this.dirty.clear()
  }

  /** Devices changed since the last call (for the throttled live push). */
  drainDirty(): DeviceLive[] {
    const out: DeviceLive[] = []
    for (const id of this.dirty) {
      const d = this.registry.get(id)
      if (d) out.push(this.view(d))
    }
    this.dirty.clear()
    return out
  }

  device(id: string): DeviceLive | undefined {
    const d = this.registry.get(id)
    return d ? this.view(d) : undefined
  }

  devices(principal: Pick<Principal, 'scope'>, filter: { estate?: string; q?: string } = {}): DeviceLive[] {
    const q = filter.q?.trim().toLowerCase()
    return this.allDevices()
      .filter((d) => inScope(principal, d.site))
      .filter((d) => !filter.estate || d.estate === filter.estate)
      .filter(
        (d) =>
          !q ||
          [d.id, d.name, d.location, d.kind, KINDS[d.kind].names.zh, KINDS[d.kind].names.en].some((s) =>
            s?.toLowerCase().includes(q),
          ),
      )
      .map((d) => this.view(d))
  }

  parking(principal: Pick<Principal, 'scope'>, estate?: string): ParkingZone[] {
    if (this.zones) {
      return this.zones(estate)
        .filter((z) => principal.scope === null || this.pathOf(z.estate).includes(principal.scope))
        .map(({ estate, zone, total, occupied, free, unknown }) => ({
          estate,
          zone,
          name: this.zoneNames(estate)[zone] ?? zone,
          total,
          occupied,
          free,
          unknown,
        }))
        .sort((a, b) => a.estate.localeCompare(b.estate) || a.zone.localeCompare(b.zone))
    }
    const zones = new Map<string, ParkingZone>()
    for (const d of this.allDevices()) {
      const rollup = kindOf(d.kind).zones
      if (!rollup || !inScope(principal, d.site)) continue
      if (estate && d.estate !== estate) continue
      const zone = zoneOf(rollup, d.params)
      const key = `${d.estate}\0${zone}`
      let z = zones.get(key)
      if (!z) {
        // The estate file's name, looked up once per zone rather than per bay.
        const name = this.zoneNames(d.estate)[zone] ?? zone
        z = { estate: d.estate, zone, name, total: 0, occupied: 0, free: 0, unknown: 0 }
        zones.set(key, z)
      }
      z.total++
      const occupied = this.state.get(d.id)?.values[rollup.field]
      if (occupied === true) z.occupied++
      else if (occupied === false) z.free++
      else z.unknown++
    }
    return [...zones.values()].sort(
      (a, b) => a.estate.localeCompare(b.estate) || a.zone.localeCompare(b.zone),
    )
  }

  /** Every site node in scope with its counts (devices, offline, open alerts by severity, parking). */
  rollup(principal: Pick<Principal, 'scope'>): SiteRollup[] {
    const below = principal.scope === null ? undefined : this.registry.subtree(principal.scope)
    const visible = this.registry.sites().filter((s) => !below || below.has(s.id))
    const out = new Map<string, SiteRollup>()
    for (const s of visible) {
      out.set(s.id, {
        ...s,
        devices: 0,
        offline: 0,
        open: zeroCounts(),
        parking: { total: 0, free: 0, unknown: 0 },
      })
    }
    const t = this.now()
    for (const d of this.allDevices()) {
      const online = this.isOnline(d, t)
      const rollup = kindOf(d.kind).zones
      const occupied = rollup ? this.state.get(d.id)?.values[rollup.field] : undefined
      for (const id of siteIds(d.site)) {
        const r = out.get(id)
        if (!r) continue
        r.devices++
        if (!online) r.offline++
        if (rollup) {
          r.parking.total++
          if (occupied === false) r.parking.free++
          else if (occupied !== true) r.parking.unknown++
        }
      }
    }
    for (const a of this.alerts.values()) {
      for (const id of siteIds(a)) {
        const r = out.get(id)
        if (r) r.open[a.severity]++
      }
    }
    return [...out.values()]
  }

  private allDevices(): Device[] {
    const t = this.now()
    if (!this.devicesCache || t - this.devicesCachedAt > 5000) {
      this.devicesCache = this.registry.list()
      this.devicesCachedAt = t
    }
    return this.devicesCache
  }

  private pathOf(estate: string): string[] {
    const out: string[] = []
    for (let id: string | undefined = estate; id; id = this.registry.site(id)?.parent) out.push(id)
    return out
  }

  private track(alert: Alert, bump = true): void {
    const before = this.alerts.get(alert.id)
    if (before?.device_id) this.byDevice.get(before.device_id)?.delete(alert.id)
    if (alert.status === 'resolved') this.alerts.delete(alert.id)
    else {
      this.alerts.set(alert.id, alert)
      if (alert.device_id) {
        const ids = this.byDevice.get(alert.device_id) ?? new Set<string>()
        ids.add(alert.id)
        this.byDevice.set(alert.device_id, ids)
      }
    }
    if (bump) this.version++
    for (const id of [before?.device_id, alert.device_id]) if (id) this.dirty.add(id)
  }

  private entry(id: string): DeviceState {
    let s = this.state.get(id)
    if (!s) {
      s = {
        values: {},
        since: {},
        ts: null,
        lastSeen: null,
        availability: null,
        intervalS: null,
        shown: false,
        lastError: null,
      }
      this.state.set(id, s)
    }
    return s
  }

  private refused(r: Refusal): void {
    const s = this.entry(r.device.id)
    const { zh, en } = ERRORS[r.code]
    const count = (s.lastError?.count ?? 0) + 1
    s.lastError = { code: r.code, zh, en, detail: r.detail ?? null, at: r.at, via: r.via, count }
    this.touch(r.device.id)
  }

  private seen(id: string, s: DeviceState, at: number): void {
    s.lastSeen = at
    // A device that talks is up, whatever its last will said.
    if (s.availability === false) s.availability = true
    this.touch(id)
  }

  private touch(id: string): void {
    const s = this.state.get(id)
    const d = s && this.registry.get(id)
    if (s && d) s.shown = this.isOnline(d, this.now())
    this.dirty.add(id)
    this.version++
  }

  private isOnline(d: Device, t: number): boolean {
    const s = this.state.get(d.id)
    if (!s || s.lastSeen === null) return s?.availability === true
    if (s.availability === false) return false
    if (s.availability === true) return true
    return t - s.lastSeen <= onlineWindowMs(kindOf(d.kind), s.intervalS)
  }

  private view(d: Device): DeviceLive {
    const s = this.state.get(d.id)
    let open = 0
    let worst: Severity | null = null
    for (const id of this.byDevice.get(d.id) ?? []) {
      const a = this.alerts.get(id)
      if (!a) continue
      open++
      if (worst === null || SEVERITIES.indexOf(a.severity) < SEVERITIES.indexOf(worst)) worst = a.severity
    }
    return {
      id: d.id,
      kind: d.kind,
      name: d.name ?? null,
      location: d.location ?? null,
      estate: d.estate,
      building: d.building ?? null,
      site: d.site,
      params: d.params,
      model: d.model ?? null,
      identity: d.identity ?? null,
      last_error: s?.lastError ?? null,
      values: s?.values ?? {},
      ts: s?.ts ?? null,
      last_seen: s?.lastSeen ?? null,
      since: s?.since ?? {},
      online: this.isOnline(d, this.now()),
      open_alerts: open,
      worst_severity: worst,
    }
  }
}

function zeroCounts(): SeverityCounts {
  return Object.fromEntries(SEVERITIES.map((s) => [s, 0])) as SeverityCounts
}
