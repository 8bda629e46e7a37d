import { io, type Socket } from 'socket.io-client'
import { computed, reactive, shallowRef } from 'vue'
import type { Alert, AuditEntry } from '../../alerts/types.ts'
import type { Principal } from '../../auth/principal.ts'
import type { WorkOrder, WorkOrderEvent } from '../../dispatch/types.ts'
import type { DeviceLive, ParkingZone, SiteRollup } from '../../live/live-state.ts'
import type { ClientToServerEvents, ConnectErrorData, ServerToClientEvents } from '../../realtime/events.ts'
import type { Site } from '../../registry/registry.ts'
import { AlertSync } from './alert-sync.ts'
import { api } from './api.ts'
import { notifyCritical } from './notify.ts'
import { forgetTeams } from './teams.ts'

/**
 * The dashboard's live state: open alerts, roll-up, watched devices. socket.io keeps it current;
 * after a reconnect the server could not recover (`hello.recovered === false`) it re-syncs over HTTP.
 */
export const store = reactive({
  user: null as Principal | null,
  connected: false,
  /** Open alerts by id. */
  alerts: new Map<string, Alert>(),
  rollup: [] as SiteRollup[],
  parking: [] as ParkingZone[],
  devices: new Map<string, DeviceLive>(),
  sites: new Map<string, Site>(),
  /** The last transition seen, for views that show one alert. */
  lastChange: null as { alert: Alert; entry: AuditEntry } | null,
  /** The last work-order change seen (accepted, escalated, delivery settled…). */
  lastWorkOrder: null as { work_order: WorkOrder; event: WorkOrderEvent } | null,
  muted: localStorage.getItem('zhian.muted') === '1',
  /** Why the hub sent us back to the login form (a refused reconnect), in both languages. */
  signedOut: null as { zh: string; en: string } | null,
  resyncs: 0,
})

const socket = shallowRef<Socket<ServerToClientEvents, ClientToServerEvents> | null>(null)
const watching = new Set<string>()

export const openAlerts = computed(() => [...store.alerts.values()].sort((a, b) => b.last_at - a.last_at))

export function siteName(id: string | null | undefined): string {
  if (!id) return '—'
  return store.sites.get(id)?.name ?? id
}

export function deviceName(id: string | null | undefined): string {
  if (!id) return '—'
  return store.devices.get(id)?.name ?? id
}

const sync = new AlertSync()

export async function resync(): Promise<void> {
  const seen = sync.begin()
  let alerts: Alert[]
  let live: Awaited<ReturnType<typeof api.live>>
  let sites: Site[]
  try {
    ;[alerts, live, sites] = await Promise.all([api.openAlerts(), api.live(), api.sites()])
  } catch (err) {
    sync.abandon(seen)
    throw err
  }
  // Not a plain replace: `alert` events that arrived during the request are newer than (or as new as) it.
  store.alerts = sync.finish(seen, alerts)
  store.rollup = live.sites
  store.parking = live.parking
  store.sites = new Map(sites.map((s) => [s.id, s]))
  store.resyncs++
}

export function connect(user: Principal): void {
  store.user = user
  store.signedOut = null
  socket.value?.disconnect()
  // Same origin: the httpOnly session cookie authenticates the handshake.
  const s: Socket<ServerToClientEvents, ClientToServerEvents> = io({
    transports: ['websocket'],
    withCredentials: true,
  })
  socket.value = s
  s.on('connect', () => {
    store.connected = true
  })
  s.on('disconnect', (reason) => {
    store.connected = false
    // The hub closed it: session ended (→ login form via the 401) or role/scope changed (→ reconnect).
    if (reason === 'io server disconnect')
      void api.me().then(
        () => s.connect(),
        () => {},
      )
  })
  s.on('connect_error', (err) => {
    store.connected = false
    // A refusal by the hub's middleware is final: socket.io-client does not retry it, so the screen
    // would say 连接中断 forever. The session is gone (expired, password changed): log in again.
    const data = (err as Error & { data?: Partial<ConnectErrorData> }).data
    if (data?.code === 'ZHIAN_ERR_UNAUTHORIZED') {
      disconnect()
      store.signedOut = { zh: data.message_zh || err.message, en: err.message }
    }
  })
  s.on('hello', ({ recovered }) => {
    if (!recovered) {
      void resync()
      for (const site of watching) s.emit('watch', site, () => {})
    }
  })
  s.on('alert', (change) => {
    const { alert, entry } = change
    sync.record(alert)
    if (alert.status === 'resolved') store.alerts.delete(alert.id)
    else store.alerts.set(alert.id, alert)
    store.lastChange = change
    if (entry.action === 'raised' && alert.severity === 'critical' && !alert.suppressed) {
      beep()
      if (store.user?.role !== 'crew') notifyCritical(alert, alert.estate ? siteName(alert.estate) : '')
    }
  })
  s.on('work_order', (change) => {
    store.lastWorkOrder = change
  })
  s.on('live:rollup', (snap) => {
    store.rollup = snap.sites
    store.parking = snap.parking
  })
  s.on('live:devices', (devices) => {
    for (const d of devices) store.devices.set(d.id, d)
  })
}

export function disconnect(): void {
  socket.value?.disconnect()
  socket.value = null
  store.user = null
  store.connected = false
  store.alerts = new Map()
  watching.clear()
  // The next login may have another scope, hence other teams.
  forgetTeams()
}

/** Receive per-device live values for a site node while a view shows it. */
export function watch(site: string): () => void {
  watching.add(site)
  socket.value?.emit('watch', site, () => {})
  return () => {
    watching.delete(site)
    socket.value?.emit('unwatch', site)
  }
}

export function mergeDevices(devices: DeviceLive[]): void {
  for (const d of devices) store.devices.set(d.id, d)
}

export function toggleMute(): void {
  store.muted = !store.muted
  localStorage.setItem('zhian.muted', store.muted ? '1' : '0')
}

let audio: AudioContext | undefined
/** Two short tones for a new critical alert (no sound file to ship). */
export function beep(): void {
  if (store.muted) return
  try {
    audio ??= new AudioContext()
    for (const [i, freq] of [880, 660].entries()) {
      const osc = audio.createOscillator()
      const gain = audio.createGain()
      osc.frequency.value = freq
      gain.gain.value = 0.15
      osc.connect(gain).connect(audio.destination)
      const at = audio.currentTime + i * 0.25
      osc.start(at)
      osc.stop(at + 0.2)
    }
  } catch {
    // Autoplay policy: no sound until the user interacted with the page; the title badge still shows.
  }
}
