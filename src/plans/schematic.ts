import type { PlanBox, PlanPoint } from '../config/estate-file.ts'

/**
 * Where things go on an estate's plan when the estate file does not say, and the schematic drawn when
 * no plan image is given: the buildings as boxes, the estate's name, nothing from the internet. All
 * coordinates are percent of the plan (0–100), the same for a schematic and for an uploaded image.
 */

export interface PlanBuilding {
  id: string
  name: string
  box: PlanBox
  placed: 'file' | 'auto'
}

export interface PlanDeviceInput {
  id: string
  kind: string
  building: string | null
  plan: PlanPoint | undefined
}

export interface PlanDevicePlace extends PlanPoint {
  id: string
  placed: 'file' | 'auto'
}

/** The schematic's canvas: 10:7, a plausible estate shape. */
export const SCHEMATIC = { width: 1000, height: 700 } as const

/** Buildings without a box go in a row along the top, in the space the placed ones leave. */
export function layoutBuildings(
  buildings: { id: string; name: string; box: PlanBox | undefined }[],
): PlanBuilding[] {
  const missing = buildings.filter((b) => !b.box)
  const w = Math.min(26, 84 / Math.max(1, missing.length) - 4)
  let i = 0
  return buildings.map((b) => {
    if (b.box) return { id: b.id, name: b.name, box: b.box, placed: 'file' as const }
    const x = 8 + i++ * (w + 4)
    return { id: b.id, name: b.name, box: { x: round(x), y: 8, w: round(w), h: 24 }, placed: 'auto' as const }
  })
}

/**
 * Devices with `plan` keep it. A device of a building without one goes inside the building's box; the
 * rest go in rows by kind below the buildings (wrapping every 30), in the order given.
 */
export function layoutDevices(devices: PlanDeviceInput[], buildings: PlanBuilding[]): PlanDevicePlace[] {
  const boxes = new Map(buildings.map((b) => [b.id, b.box]))
  const inBuilding = new Map<string, PlanDeviceInput[]>()
  const byKind = new Map<string, PlanDeviceInput[]>()
  for (const d of devices) {
    if (d.plan) continue
    if (d.building && boxes.has(d.building)) push(inBuilding, d.building, d)
    else push(byKind, d.kind, d)
  }
  const auto = new Map<string, PlanPoint>()
  // Inside a building: rows of markers about 3.2 % apart, wrapping, from a third of the way down.
  for (const [building, list] of inBuilding) {
    const box = boxes.get(building)!
    const perRow = Math.max(1, Math.min(list.length, Math.floor(box.w / 3.2)))
    const rows = Math.ceil(list.length / perRow)
    const dy = rows > 1 ? Math.min(6, (box.h * 0.6) / (rows - 1)) : 0
    for (const [i, d] of list.entries()) {
      const row = Math.floor(i / perRow)
      const inRow = Math.min(perRow, list.length - row * perRow)
      const col = i % perRow
      auto.set(d.id, {
        x: round(box.x + ((col + 1) * box.w) / (inRow + 1)),
        y: round(box.y + box.h * (rows > 1 ? 0.35 : 0.62) + row * dy),
      })
    }
  }
  const PER_ROW = 30
  const rows = [...byKind.values()].flatMap((list) => chunks(list, PER_ROW))
  const top = Math.max(40, ...buildings.map((b) => b.box.y + b.box.h + 8))
  const step = rows.length > 1 ? Math.min(12, (94 - top) / (rows.length - 1)) : 0
  for (const [r, row] of rows.entries())
    for (const [i, d] of row.entries())
      auto.set(d.id, { x: round(6 + ((i + 0.5) * 88) / row.length), y: round(top + r * step) })
  return devices.map((d) => {
    const at = d.plan ?? auto.get(d.id)!
    return { id: d.id, x: at.x, y: at.y, placed: d.plan ? 'file' : 'auto' }
  })
}

/** The generated plan: ground, the estate's name, its buildings. Devices are drawn over it by the dashboard. */
export function schematicSvg(estateName: string, buildings: PlanBuilding[]): string {
  const { width: W, height: H } = SCHEMATIC
  const px = (v: number, of: number) => round((v * of) / 100)
  const blocks = buildings
    .map((b) => {
      const x = px(b.box.x, W)
      const y = px(b.box.y, H)
      const w = px(b.box.w, W)
      const h = px(b.box.h, H)
      return `<rect x="${x}" y="${y}" width="${w}" height="${h}" rx="6" fill="#2f4a63" stroke="#8fb3d9" stroke-width="3"/><text x="${x + w / 2}" y="${y + 30}" text-anchor="middle">${escapeXml(b.name)}</text>`
    })
    .join('')
  return `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 ${W} ${H}" width="${W}" height="${H}"><rect width="${W}" height="${H}" fill="#1d2b24"/><rect x="16" y="16" width="${W - 32}" height="${H - 32}" rx="16" fill="#24362c" stroke="#3f5a4a" stroke-width="4"/><g font-family="sans-serif" font-size="24" fill="#dfe8f0">${blocks}</g><text x="${W - 30}" y="${H - 30}" text-anchor="end" font-family="sans-serif" font-size="20" fill="#7d8b96">${escapeXml(estateName)} · 示意图</text></svg>`
}

function push<T>(map: Map<string, T[]>, key: string, value: T): void {
  const list = map.get(key)
  if (list) list.push(value)
  else map.set(key, [value])
}

function chunks<T>(list: T[], size: number): T[][] {
  const out: T[][] = []
  for (let i = 0; i < list.length; i += size) out.push(list.slice(i, i + size))
  return out
}

const round = (v: number) => Math.round(v * 10) / 10

export function escapeXml(s: string): string {
  return s.replace(/[<>&"']/g, (c) => `&#${c.charCodeAt(0)};`)
}
