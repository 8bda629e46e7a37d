import type { Alert } from '../../../alerts/types.ts'
import type { DeviceLive, ParkingZone } from '../../../live/live-state.ts'

/** What every panel of the estate view gets: its kind's devices in the estate, and the estate's state. */
export interface PanelProps {
  kind: string
  devices: DeviceLive[]
  /** Open alerts of the estate. */
  alerts: Alert[]
  /** Zone roll-ups of the estate (kinds that declare `zones`). */
  zones: ParkingZone[]
  /** Wall-clock now, ticking every second. */
  now: number
}
