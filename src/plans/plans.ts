import fs from 'node:fs'
import path from 'node:path'
import type { Principal } from '../auth/principal.ts'
import type { EstateFile, PlanBox, SiteNode } from '../config/estate-file.ts'
import { ZhianError } from '../errors.ts'
import type { Registry } from '../registry/registry.ts'
import { type Db, migrate } from '../store/db.ts'
import { checkPlanUpload, type PlanType, sniff } from './image.ts'
import {
  layoutBuildings,
  layoutDevices,
  type PlanBuilding,
  type PlanDevicePlace,
  schematicSvg,
} from './schematic.ts'

/**
 * Site plans: per estate, an image (uploaded by an admin, else the estate file's `plan`, else a
 * generated schematic) and where its buildings and devices sit on it (the estate file's `plan`
 * coordinates, else a layout of our own). Uploads live in the store, so they survive restarts and
 * config reloads; the estate file is never rewritten.
 */

export const MIGRATIONS = [
  `CREATE TABLE site_plans (
     estate TEXT PRIMARY KEY,
     content_type TEXT NOT NULL,
     bytes BLOB NOT NULL,
     uploaded_by TEXT NOT NULL,
     uploaded_at INTEGER NOT NULL
   )`,
]

export type PlanSource = 'upload' | 'file' | 'schematic'

export interface SitePlan {
  estate: { id: string; name: string }
  image: { url: string; source: PlanSource; version: number }
  buildings: PlanBuilding[]
  devices: PlanDevicePlace[]
}

export interface PlanImage {
  contentType: PlanType
  body: Buffer
  source: PlanSource
}

export interface SitePlansOptions {
  db: Db
  registry: Registry
  /** The estate file as loaded (coordinates, building boxes, plan images). */
  file: () => EstateFile | undefined
  /** Where the estate file is: its `plan` image paths are relative to it. */
  baseDir: string | undefined
  now?: () => number
}

export class SitePlans {
  constructor(private readonly opts: SitePlansOptions) {}

  start(): void {
    migrate(this.opts.db, 'plans', MIGRATIONS)
  }

  /** The estate's plan as the dashboard draws it. Unknown and out-of-scope estates answer alike. */
  plan(p: Principal, estate: string): SitePlan {
    const site = this.visibleEstate(p, estate)
    const node = this.fileNode(estate)
    const buildings = layoutBuildings(
      this.opts.registry
        .sites()
        .filter((s) => s.type === 'building' && s.parent === estate)
        .map((b) => ({ id: b.id, name: b.name, box: boxOf(this.fileNode(b.id)) })),
    )
    const fileDevices = new Map((this.opts.file()?.devices ?? []).map((d) => [d.id, d]))
    const devices = layoutDevices(
      this.opts.registry
        .list()
        .filter((d) => d.estate === estate)
        .map((d) => ({
          id: d.id,
          kind: d.kind,
          building: d.building ?? null,
          plan: fileDevices.get(d.id)?.plan,
        })),
      buildings,
    )
    const version = this.uploadedAt(estate)
    const source: PlanSource =
      version !== undefined ? 'upload' : typeof node?.plan === 'string' ? 'file' : 'schematic'
    return {
      estate: { id: site.id, name: site.name },
      // The version changes with each upload, so the browser never shows a stale cached picture.
      image: {
        url: `/api/plans/${estate}/image?v=${version ?? 0}`,
        source,
        version: version ?? 0,
      },
      buildings,
      devices,
    }
  }

  /** The picture: the upload, else the estate file's image, else the schematic. */
  image(p: Principal, estate: string): PlanImage {
    const site = this.visibleEstate(p, estate)
    const upload = this.uploaded(estate)
    if (upload) return { contentType: upload.content_type as PlanType, body: upload.bytes, source: 'upload' }
    const node = this.fileNode(estate)
    if (typeof node?.plan === 'string' && this.opts.baseDir) {
      const file = path.resolve(this.opts.baseDir, node.plan)
      try {
        const body = fs.readFileSync(file)
        // The estate file's image passes the same checks as an upload: it is served the same way.
        const type = checkPlanUpload(sniff(body), body)
        return { contentType: type, body, source: 'file' }
      } catch (err) {
        // A missing file, or one the upload checks would refuse: the schematic stands in for it.
        if (!(err instanceof ZhianError) && (err as NodeJS.ErrnoException).code !== 'ENOENT') throw err
      }
    }
    const buildings = this.plan(p, estate).buildings
    return {
      contentType: 'image/svg+xml',
      body: Buffer.from(schematicSvg(site.name, buildings)),
      source: 'schematic',
    }
  }

  /** Store an admin's upload for the estate (checked: size, type, safe SVG). */
  upload(p: Principal, estate: string, contentType: string | undefined, bytes: Buffer): SitePlan {
    this.visibleEstate(p, estate)
    const type = checkPlanUpload(contentType, bytes)
    const at = Math.max((this.opts.now ?? Date.now)(), (this.uploadedAt(estate) ?? 0) + 1)
    this.opts.db
      .prepare(
        `INSERT INTO site_plans (estate, content_type, bytes, uploaded_by, uploaded_at) VALUES (?, ?, ?, ?, ?)
         ON CONFLICT(estate) DO UPDATE SET content_type = excluded.content_type, bytes = excluded.bytes,
           uploaded_by = excluded.uploaded_by, uploaded_at = excluded.uploaded_at`,
      )
      .run(estate, type, bytes, p.username, at)
    return this.plan(p, estate)
  }

  /** Drop the upload: back to the estate file's image or the schematic. */
  remove(p: Principal, estate: string): SitePlan {
    this.visibleEstate(p, estate)
    this.opts.db.prepare('DELETE FROM site_plans WHERE estate = ?').run(estate)
    return this.plan(p, estate)
  }

  /** When the estate's picture was uploaded (its version), without reading the picture. */
  private uploadedAt(estate: string): number | undefined {
    const row = this.opts.db.prepare('SELECT uploaded_at FROM site_plans WHERE estate = ?').get(estate) as
      | { uploaded_at: number }
      | undefined
    return row?.uploaded_at
  }

  private uploaded(estate: string) {
    return this.opts.db
      .prepare('SELECT content_type, bytes, uploaded_at FROM site_plans WHERE estate = ?')
      .get(estate) as { content_type: string; bytes: Buffer; uploaded_at: number } | undefined
  }

  /** The estate if the caller may see it: scoped at or above it, or to one of its buildings. */
  private visibleEstate(p: Pick<Principal, 'scope'>, id: string) {
    const { registry } = this.opts
    const site = registry.site(id)
    if (site?.type !== 'estate') throw new ZhianError('ZHIAN_ERR_UNKNOWN_SITE', id)
    if (p.scope === null) return site
    let visible = registry.subtree(id).has(p.scope)
    for (let at = site.parent; at && !visible; at = registry.site(at)?.parent) visible = at === p.scope
    if (!visible) throw new ZhianError('ZHIAN_ERR_UNKNOWN_SITE', id)
    return site
  }

  private fileNode(id: string): SiteNode | undefined {
    const find = (nodes: SiteNode[]): SiteNode | undefined => {
      for (const n of nodes) {
        if (n.id === id) return n
        const deeper = find(n.children ?? [])
        if (deeper) return deeper
      }
      return undefined
    }
    return find(this.opts.file()?.sites ?? [])
  }
}

function boxOf(node: SiteNode | undefined): PlanBox | undefined {
  return node && typeof node.plan === 'object' ? node.plan : undefined
}
