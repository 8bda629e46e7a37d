import { isKindId, type KindId } from '../../devices/index.ts'

/**
 * The only module that builds or parses MQTT topic strings (README "MQTT topics").
 *   <base>/<kind>/<id>/state|event|availability|info   device → hub
 *   <base>/<kind>/<id>/set|error                        hub → device
 *   <base>/hub/alert|availability                       hub → everyone
 */

export const ID_PATTERN = /^[a-z0-9_-]{1,64}$/
export const DEVICE_UPLINK = ['state', 'event', 'availability', 'info'] as const
export const DEVICE_DOWNLINK = ['set', 'error'] as const
export type UplinkSuffix = (typeof DEVICE_UPLINK)[number]
export type DownlinkSuffix = (typeof DEVICE_DOWNLINK)[number]
export type DeviceSuffix = UplinkSuffix | DownlinkSuffix
export type HubSuffix = 'alert' | 'availability'

export type ParsedTopic =
  | { scope: 'device'; kind: KindId; id: string; suffix: DeviceSuffix }
  /** Well-formed but naming a kind the hub does not know. */
  | { scope: 'unknown_kind'; kind: string; id: string; suffix: DeviceSuffix }
  | { scope: 'hub'; suffix: HubSuffix }

const SUFFIXES = new Set<string>([...DEVICE_UPLINK, ...DEVICE_DOWNLINK])

export function isValidId(id: string): boolean {
  return ID_PATTERN.test(id)
}

export class Topics {
  readonly base: string
  private readonly prefix: string

  constructor(base: string) {
    if (!/^[a-zA-Z0-9_-]+(\/[a-zA-Z0-9_-]+)*$/.test(base)) throw new Error(`invalid base topic "${base}"`)
    this.base = base
    this.prefix = `${base}/`
  }

  device(kind: KindId, id: string, suffix: DeviceSuffix): string {
    return `${this.prefix}${kind}/${id}/${suffix}`
  }

  hub(suffix: HubSuffix): string {
    return `${this.prefix}hub/${suffix}`
  }

  /** Returns null for anything outside the scheme (other prefixes, wrong depth, bad ids, unknown suffix). */
  parse(topic: string): ParsedTopic | null {
    if (!topic.startsWith(this.prefix)) return null
    const parts = topic.slice(this.prefix.length).split('/')
    if (parts.length === 2 && parts[0] === 'hub') {
      return parts[1] === 'alert' || parts[1] === 'availability' ? { scope: 'hub', suffix: parts[1] } : null
    }
    if (parts.length !== 3) return null
    const [kind, id, suffix] = parts as [string, string, string]
    if (!SUFFIXES.has(suffix) || !isValidId(id) || !/^[a-z_]{1,32}$/.test(kind)) return null
    if (!isKindId(kind)) return { scope: 'unknown_kind', kind, id, suffix: suffix as DeviceSuffix }
    return { scope: 'device', kind, id, suffix: suffix as DeviceSuffix }
  }
}
