import fs from 'node:fs'
import {
  type Document,
  isMap,
  isSeq,
  LineCounter,
  type Node,
  parse,
  parseDocument,
  stringify,
  visit,
} from 'yaml'
import { z } from 'zod'
import { KIND_IDS, type KindId } from '../../devices/index.ts'
import { IDENTITY_KINDS, IDENTITY_RULES, normalIdentity } from '../../devices/models/identity.ts'
import { deviceParamsSchema, modelProblem } from '../../devices/models/index.ts'
import { CONNECTORS_SECTION, checkConnectors } from '../connectors/config.ts'
import { checkDispatch, DISPATCH_SECTIONS } from '../dispatch/config.ts'
import { ZhianError } from '../errors.ts'
import { ID_PATTERN } from '../mqtt/topics.ts'
import { REPORTS_SECTION } from '../reports/config.ts'

/**
 * The estate YAML (`ZHIAN_CONFIG`): site tree, devices, users and per-estate rule overrides.
 * Every error names the line and column it comes from, so an installer can fix the file.
 */

export const SITE_TYPES = ['street', 'community', 'estate', 'building'] as const
export type SiteType = (typeof SITE_TYPES)[number]
export const ROLES = ['admin', 'manager', 'crew', 'viewer'] as const
export type Role = (typeof ROLES)[number]

const id = z.string().regex(ID_PATTERN, 'ids are [a-z0-9_-]{1,64}')

export interface SiteNode {
  id: string
  type: SiteType
  name: string
  /** An estate's parking zones (the `zone` param of its bays) by display name: `{ ground: 地面停车场 }`. */
  zones?: Record<string, string> | undefined
  /** Site plan: an estate's plan image, a building's box on its estate's plan (src/plans). */
  plan?: string | PlanBox | undefined
  children?: SiteNode[] | undefined
}
/** Percent of the plan's width and height, from its top-left corner: independent of the image's pixels. */
const PERCENT = z.number().min(0).max(100)
export const PLAN_POINT = z.strictObject({ x: PERCENT, y: PERCENT })
export type PlanPoint = z.infer<typeof PLAN_POINT>
const PLAN_BOX = z.strictObject({ x: PERCENT, y: PERCENT, w: PERCENT, h: PERCENT })
export type PlanBox = z.infer<typeof PLAN_BOX>
/** An estate's plan image: a PNG, JPEG or SVG file, relative to the estate file. */
const PLAN_IMAGE = z.string().regex(/^[^\0]{1,256}\.(png|jpe?g|svg)$/i, 'a .png, .jpg or .svg file')
const SITE: z.ZodType<SiteNode> = z.lazy(() =>
  z.strictObject({
    id,
    type: z.enum(SITE_TYPES),
    name: z.string().min(1).max(128),
    zones: z.record(id, z.string().min(1).max(64)).optional(),
    plan: z.union([PLAN_IMAGE, PLAN_BOX]).optional(),
    children: z.array(SITE).optional(),
  }),
)

const DEVICE = z
  .strictObject({
    id,
    kind: z.enum(KIND_IDS as [KindId, ...KindId[]]),
    estate: id,
    building: id.optional(),
    name: z.string().min(1).max(128).optional(),
    location: z.string().max(256).optional(),
    secret: z.string().min(12, 'device secrets need at least 12 characters').max(256).optional(),
    secret_hash: z
      .string()
      .regex(/^(scrypt|sha256)\$/, 'a hash from `zhian config export`')
      .optional(),
    params: z.record(z.string(), z.unknown()).optional(),
    /** Where the device sits on its estate's site plan. */
    plan: PLAN_POINT.optional(),
    /** A device model `<vendor>/<model>` (devices/models/); without one the device speaks zhian's JSON. */
    model: z.string().max(64).optional(),
    // The device's identity on the platform it reports through (devices/models/identity.ts).
    dev_eui: identity('dev_eui'),
    imei: identity('imei'),
    platform_device_id: identity('platform_device_id'),
  })
  .refine((d) => Boolean(d.secret) !== Boolean(d.secret_hash), {
    message: 'give exactly one of secret or secret_hash',
  })

function identity(kind: (typeof IDENTITY_KINDS)[number]) {
  const rule = IDENTITY_RULES[kind]
  return z
    .string()
    .regex(rule.pattern, rule.message)
    .transform((v) => normalIdentity(kind, v))
    .optional()
}

const USER = z
  .strictObject({
    username: id,
    password: z.string().min(8).max(256).optional(),
    password_hash: z.string().startsWith('scrypt$').optional(),
    role: z.enum(ROLES),
    /** A site id, or `*` for everything (admins). */
    scope: z.union([id, z.literal('*')]),
    /** For crew users: the dispatch team they work in (see `teams`). */
    team: id.optional(),
  })
  .refine((u) => Boolean(u.password) !== Boolean(u.password_hash), {
    message: 'give exactly one of password or password_hash',
  })

const PARAM_VALUE = z.union([z.string(), z.number(), z.boolean()])
const ESTATE_FILE = z.strictObject({
  sites: z.array(SITE).default([]),
  devices: z.array(DEVICE).default([]),
  users: z.array(USER).default([]),
  overrides: z.record(id, z.record(z.string(), z.record(z.string(), PARAM_VALUE))).default({}),
  // Dispatch: teams, duty roster, routing; see src/dispatch/config.ts and README.
  ...DISPATCH_SECTIONS,
  // Scheduled reports: see src/reports/config.ts and README "Reports".
  reports: REPORTS_SECTION,
  // Platforms and network servers uplinks arrive through: see src/connectors/config.ts and README "Connectors".
  connectors: CONNECTORS_SECTION,
})

type ParsedEstate = z.infer<typeof ESTATE_FILE>
type DispatchKeys = keyof typeof DISPATCH_SECTIONS
/** Dispatch sections are optional for code that builds an estate (registry export, generators). */
export type EstateFile = Omit<ParsedEstate, DispatchKeys | 'connectors'> &
  Partial<Pick<ParsedEstate, DispatchKeys | 'connectors'>>
export type DeviceEntry = EstateFile['devices'][number]
export type UserEntry = EstateFile['users'][number]

/** Parse and validate an estate YAML text; `source` names the file in messages. */
export function parseEstate(text: string, source = 'estate file'): ParsedEstate {
  const lineCounter = new LineCounter()
  const doc = parseDocument(text, { lineCounter, prettyErrors: false, uniqueKeys: true })
  const where = (offset: number | undefined) => {
    if (offset === undefined) return source
    const { line, col } = lineCounter.linePos(offset)
    return `${source}:${line}:${col}`
  }
  if (doc.errors.length > 0) {
    const err = doc.errors[0]!
    throw new ZhianError('ZHIAN_ERR_CONFIG_INVALID', `${where(err.pos[0])}: ${err.message.split('\n')[0]}`)
  }
  let raw: unknown
  try {
    raw = doc.toJS() ?? {}
  } catch (err) {
    // Alias trouble the parser leaves to toJS(): an alias to an anchor not set before it (also under
    // a `<<` merge key), or so many aliases that expanding them would exhaust memory.
    throw new ZhianError(
      'ZHIAN_ERR_CONFIG_INVALID',
      `${where(firstAlias(doc) ?? 0)}: ${(err as Error).message}`,
    )
  }
  const model = modelCheck(raw)
  if (model) {
    throw new ZhianError(
      'ZHIAN_ERR_CONFIG_INVALID',
      `${where(offsetOf(doc.contents, model.path))}: ${model.path.join('.')}: ${model.message}`,
    )
  }
  const parsed = ESTATE_FILE.safeParse(raw)
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!
    const path = issue.path.map(String)
    throw new ZhianError(
      'ZHIAN_ERR_CONFIG_INVALID',
      `${where(offsetOf(doc.contents, path))}: ${path.join('.') || '(top level)'}: ${issue.message}`,
    )
  }
  const problem = crossCheck(parsed.data)
  if (problem) {
    throw new ZhianError(
      'ZHIAN_ERR_CONFIG_INVALID',
      `${where(offsetOf(doc.contents, problem.path))}: ${problem.path.join('.')}: ${problem.message}`,
    )
  }
  return parsed.data
}

export function loadEstateFile(file: string): ParsedEstate {
  let text: string
  try {
    text = fs.readFileSync(file, 'utf8')
  } catch (err) {
    throw new ZhianError('ZHIAN_ERR_CONFIG_INVALID', `${file}: ${(err as Error).message}`)
  }
  return parseEstate(text, file)
}

/** Display names of an estate's zones (`zones` on the estate's site); a zone without one keeps its id. */
export function zoneNames(estate: Pick<EstateFile, 'sites'>, estateId: string): Record<string, string> {
  const find = (nodes: SiteNode[]): SiteNode | undefined => {
    for (const n of nodes) {
      const hit = n.id === estateId ? n : find(n.children ?? [])
      if (hit) return hit
    }
    return undefined
  }
  return { ...find(estate.sites)?.zones }
}

export function serializeEstate(estate: EstateFile): string {
  return stringify(estate, { lineWidth: 0 })
}

/**
 * `estate` as YAML, with the sections the store does not own — teams, roster, routing, reports, connectors —
 * copied from `baseFile` as written: their parsed form holds durations as milliseconds, which would
 * not load back as `5m`, and crew users refer to the teams.
 */
export function serializeWithSections(estate: EstateFile, baseFile: string): string {
  const raw = (parse(fs.readFileSync(baseFile, 'utf8')) ?? {}) as Record<string, unknown>
  const out: Record<string, unknown> = { ...estate }
  for (const key of ['teams', 'roster', 'routing', 'reports', 'connectors'])
    if (key in raw) out[key] = raw[key]
  // Site plans are the file's, not the store's: the same sites and devices keep their places.
  const plans = plansOf(raw)
  const withPlan = <T extends { id: string }>(x: T) => (plans.has(x.id) ? { ...x, plan: plans.get(x.id) } : x)
  const sites = (nodes: SiteNode[]): SiteNode[] =>
    nodes.map((n) => withPlan({ ...n, ...(n.children ? { children: sites(n.children) } : {}) }))
  out.sites = sites(estate.sites)
  out.devices = estate.devices.map(withPlan)
  return serializeEstate(out as unknown as EstateFile)
}

/** `plan` of every site and device of a raw estate file, by id. */
function plansOf(raw: Record<string, unknown>): Map<string, unknown> {
  const out = new Map<string, unknown>()
  const walk = (nodes: unknown) => {
    if (!Array.isArray(nodes)) return
    for (const n of nodes as { id?: unknown; plan?: unknown; children?: unknown }[]) {
      if (typeof n?.id === 'string' && n.plan !== undefined) out.set(n.id, n.plan)
      walk(n?.children)
    }
  }
  walk(raw.sites)
  walk(raw.devices)
  return out
}

/** Walk the YAML node tree along a zod issue path to the closest node that has a position. */
function firstAlias(doc: Document): number | undefined {
  let at: number | undefined
  visit(doc, {
    Alias(_, node) {
      at = node.range?.[0]
      return visit.BREAK
    },
  })
  return at
}

function offsetOf(root: unknown, path: string[]): number | undefined {
  let node = root as Node | null | undefined
  let best: number | undefined = (node as Node | undefined)?.range?.[0]
  for (const key of path) {
    if (isMap(node)) {
      const pair = node.items.find((p) => String((p.key as { value?: unknown })?.value) === key)
      if (!pair) break
      best = (pair.key as Node | undefined)?.range?.[0] ?? best
      node = pair.value as Node | null
    } else if (isSeq(node)) {
      node = node.items[Number(key)] as Node | null
    } else break
    best = node?.range?.[0] ?? best
  }
  return best
}

interface Problem {
  path: string[]
  message: string
}

/**
 * A device's `model` checked before the schema: a model whose kind this hub lacks must say so, not
 * surface as the schema's "invalid kind".
 */
function modelCheck(raw: unknown): Problem | undefined {
  const devices = (raw as { devices?: unknown } | null)?.devices
  if (!Array.isArray(devices)) return undefined
  for (const [i, d] of devices.entries()) {
    const entry = d as { id?: unknown; kind?: unknown; model?: unknown } | null
    if (typeof entry?.model !== 'string') continue
    const problem = modelProblem(entry.model, String(entry.kind))
    if (problem) {
      return {
        path: ['devices', String(i), 'model'],
        message: `device "${String(entry.id)}": ${problem.message}`,
      }
    }
  }
  return undefined
}

/** An estate's `plan` names an image, a building's places it on the estate's plan; other sites have none. */
function sitePlanProblem(node: SiteNode): string | undefined {
  if (node.plan === undefined) return undefined
  if (node.type === 'estate' && typeof node.plan !== 'string') return "an estate's plan is an image file"
  if (node.type === 'building' && typeof node.plan === 'string')
    return "a building's plan is a box { x, y, w, h }"
  if (node.type !== 'estate' && node.type !== 'building') return `a ${node.type} has no plan`
  return undefined
}

/** Rules zod cannot express: tree order, unique ids, references between sections. */
function crossCheck(estate: ParsedEstate): Problem | undefined {
  const sites = new Map<string, { type: SiteType; parent: string | undefined }>()
  const walk = (nodes: SiteNode[], parent: SiteNode | undefined, path: string[]): Problem | undefined => {
    for (const [i, node] of nodes.entries()) {
      const here = [...path, String(i)]
      if (sites.has(node.id)) return { path: [...here, 'id'], message: `duplicate site id "${node.id}"` }
      const expected = parent ? SITE_TYPES[SITE_TYPES.indexOf(parent.type) + 1] : undefined
      if (parent && node.type !== expected) {
        return {
          path: [...here, 'type'],
          message: `a ${parent.type} can only contain ${expected ?? 'nothing'}`,
        }
      }
      const planProblem = sitePlanProblem(node)
      if (planProblem) return { path: [...here, 'plan'], message: planProblem }
      sites.set(node.id, { type: node.type, parent: parent?.id })
      const deeper = walk(node.children ?? [], node, [...here, 'children'])
      if (deeper) return deeper
    }
    return undefined
  }
  const treeProblem = walk(estate.sites, undefined, ['sites'])
  if (treeProblem) return treeProblem

  const deviceIds = new Set<string>()
  const identities = new Map<string, string>()
  for (const [i, d] of estate.devices.entries()) {
    const at = (...rest: string[]) => ['devices', String(i), ...rest]
    if (deviceIds.has(d.id)) return { path: at('id'), message: `duplicate device id "${d.id}"` }
    deviceIds.add(d.id)
    if (sites.get(d.estate)?.type !== 'estate')
      return { path: at('estate'), message: `"${d.estate}" is not an estate` }
    if (d.building) {
      const b = sites.get(d.building)
      if (b?.type !== 'building' || b.parent !== d.estate) {
        return { path: at('building'), message: `"${d.building}" is not a building of estate "${d.estate}"` }
      }
    }
    const params = deviceParamsSchema(d.kind, d.model).safeParse(d.params ?? {})
    if (!params.success) {
      const issue = params.error.issues[0]!
      return { path: at('params', ...issue.path.map(String)), message: issue.message }
    }
    for (const kind of IDENTITY_KINDS) {
      const value = d[kind]
      if (value === undefined) continue
      const holder = identities.get(`${kind} ${value}`)
      if (holder)
        return {
          path: at(kind),
          message: `device "${d.id}": ${kind} "${value}" is already device "${holder}"'s`,
        }
      identities.set(`${kind} ${value}`, d.id)
    }
  }
  const usernames = new Set<string>()
  for (const [i, u] of estate.users.entries()) {
    if (usernames.has(u.username))
      return { path: ['users', String(i), 'username'], message: 'duplicate username' }
    usernames.add(u.username)
    if (u.scope !== '*' && !sites.has(u.scope))
      return { path: ['users', String(i), 'scope'], message: `unknown site "${u.scope}"` }
    if (u.team && !(estate.teams ?? []).some((t) => t.id === u.team))
      return { path: ['users', String(i), 'team'], message: `unknown team "${u.team}"` }
  }
  for (const estateId of Object.keys(estate.overrides)) {
    if (sites.get(estateId)?.type !== 'estate') {
      return { path: ['overrides', estateId], message: `"${estateId}" is not an estate` }
    }
  }
  const connectorProblem = checkConnectors(
    estate.connectors,
    (siteId) => sites.get(siteId)?.type === 'estate',
  )
  if (connectorProblem) return connectorProblem
  return checkDispatch(estate, (siteId) => sites.has(siteId))
}
