import { KIND_IDS, KINDS, type KindDefinition, type KindId } from '../devices/index.ts'
import { type SimulatorSpec, simulatorOf } from '../devices/types.ts'
import type { DeviceEntry, EstateFile, SiteNode } from '../src/config/estate-file.ts'
import { parseDuration } from './time.ts'

/**
 * Scaled estates for load and scale runs: the base estate (if any) plus synthesised devices, in
 * estates of at most 1,000 devices, in the mix each kind declares (`simulator.mix` in devices/: per 100
 * devices of a real estate, 6 lifts, 4 fire passage segments, 15 manholes, 75 parking bays). Ids and secrets follow from the index alone, so the
 * hub (`ZHIAN_CONFIG=big.yaml`) and the simulators (`--devices N`) agree without sharing anything else.
 */

const PER_ESTATE = 1000

export function syntheticSecret(id: string): string {
  return `sim-secret-${id}`
}

/** The mix of the kinds, in the order of devices/index.ts, each `weight` devices of every period. */
export function mix(): { kind: KindId; sim: SimulatorSpec; weight: number }[] {
  return KIND_IDS.map((kind) => {
    const sim = simulatorOf(KINDS[kind])
    return { kind, sim, weight: sim.mix.weight }
  }).filter((m) => m.weight > 0)
}

export function kindAt(i: number, kinds = mix()): { kind: KindId; sim: SimulatorSpec } {
  const period = kinds.reduce((sum, m) => sum + m.weight, 0)
  let slot = i % period
  for (const m of kinds) {
    if (slot < m.weight) return m
    slot -= m.weight
  }
  return kinds[kinds.length - 1]!
}

/**
 * An estate file with `total` devices: the base's devices first (cut to `total` if it has more), then
 * synthesised ones. Without a base, a street `sim_street` with one community holds the estates.
 */
export function generateEstate(total: number, base?: EstateFile): EstateFile {
  const out: EstateFile = structuredClone(
    base ?? {
      sites: [
        {
          id: 'sim_street',
          type: 'street',
          name: '模拟街道',
          children: [{ id: 'sim_community', type: 'community', name: '模拟社区', children: [] }],
        },
      ],
      devices: [],
      users: [],
      overrides: {},
    },
  )
  if (out.devices.length >= total) {
    out.devices = out.devices.slice(0, total)
    return out
  }
  const community = findCommunity(out.sites) ?? addCommunity(out)
  community.children ??= []
  const extra = total - out.devices.length
  for (let e = 0; e * PER_ESTATE < extra; e++) {
    const estate = `sim_estate_${String(e + 1).padStart(3, '0')}`
    community.children.push({
      id: estate,
      type: 'estate',
      name: `模拟小区${e + 1}`,
      children: [1, 2, 3, 4].map((b) => ({
        id: `${estate}_b${b}`,
        type: 'building' as const,
        name: `${b}号楼`,
      })),
    })
  }
  const kinds = mix()
  for (let i = 0; i < extra; i++) {
    const { kind, sim } = kindAt(i, kinds)
    const id = `sim_${sim.mix.abbr}_${String(i).padStart(6, '0')}`
    const estate = `sim_estate_${String(Math.floor(i / PER_ESTATE) + 1).padStart(3, '0')}`
    const device: DeviceEntry = {
      id,
      kind,
      estate,
      ...(sim.inBuilding ? { building: `${estate}_b${(i % 4) + 1}` } : {}),
      name: id,
      secret: syntheticSecret(id),
      params: sim.params?.(i) ?? {},
    }
    out.devices.push(device)
  }
  return out
}

/**
 * The estate plus one synthesised device of every kind it lacks (`sim_<abbr>_every`, in its first
 * estate), so a run over the demo estate also covers a kind added to devices/ since.
 */
export function withEveryKind(base: EstateFile): EstateFile {
  const out = structuredClone(base)
  const estate = firstEstate(out.sites)
  if (!estate) throw new Error('the estate file has no estate')
  for (const kind of KIND_IDS) {
    if (out.devices.some((d) => d.kind === kind)) continue
    const sim = simulatorOf(KINDS[kind])
    const id = `sim_${sim.mix.abbr}_every`
    out.devices.push({
      id,
      kind,
      estate,
      name: id,
      secret: syntheticSecret(id),
      params: sim.params?.(0) ?? {},
    })
  }
  return out
}

function firstEstate(nodes: SiteNode[]): string | undefined {
  for (const n of nodes) {
    if (n.type === 'estate') return n.id
    const deeper = firstEstate(n.children ?? [])
    if (deeper) return deeper
  }
  return undefined
}

function findCommunity(nodes: SiteNode[]): SiteNode | undefined {
  for (const n of nodes) {
    if (n.type === 'community') return n
    const deeper = findCommunity(n.children ?? [])
    if (deeper) return deeper
  }
  return undefined
}

function addCommunity(estate: EstateFile): SiteNode {
  const community: SiteNode = { id: 'sim_community', type: 'community', name: '模拟社区', children: [] }
  estate.sites.push({ id: 'sim_street', type: 'street', name: '模拟街道', children: [community] })
  return community
}

/**
 * Rules on the simulated clock: with the simulators at speed N, the hub's hold times, quiet times and
 * windows (every duration parameter of every alert in devices/) divided by N, written as estate
 * overrides for every estate of the file. A hub loaded with this file judges a ×N simulation as it
 * would judge real time. (Offline detection follows by itself: simulated devices announce their
 * wall-clock heartbeat interval in `info.interval_s`.)
 */
export function compressRules(estate: EstateFile, speed: number): EstateFile {
  if (!(speed > 0)) throw new Error('speed must be > 0')
  const out = structuredClone(estate)
  const scaled: Record<string, Record<string, string>> = {}
  for (const kind of KIND_IDS) {
    const alerts = (KINDS[kind] as KindDefinition).alerts ?? {}
    for (const [type, def] of Object.entries(alerts)) {
      const params: Record<string, string> = {}
      for (const [name, spec] of Object.entries(def.params ?? {})) {
        if (spec.type === 'duration')
          params[name] = `${Math.max(1, Math.round(parseDuration(spec.default) / speed))}ms`
      }
      if (Object.keys(params).length > 0) scaled[`${kind}.${type}`] = params
    }
  }
  const estates: string[] = []
  const walk = (nodes: SiteNode[]) => {
    for (const n of nodes) {
      if (n.type === 'estate') estates.push(n.id)
      walk(n.children ?? [])
    }
  }
  walk(out.sites)
  for (const id of estates) {
    const mine = out.overrides[id] ?? {}
    out.overrides[id] = mine
    for (const [alert, params] of Object.entries(scaled)) mine[alert] = { ...params, ...(mine[alert] ?? {}) }
  }
  return out
}
