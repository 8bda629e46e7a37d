import { parse as parseCsv } from 'csv-parse/sync'
import { isKindId, type KindId } from '../../devices/index.ts'
import {
  IDENTITY_KINDS,
  type Identity,
  type IdentityKind,
  identityProblem,
  normalIdentity,
} from '../../devices/models/identity.ts'
import { deviceParamsSchema, modelProblem } from '../../devices/models/index.ts'
import { Users } from '../auth/users.ts'
import type { EstateFile, SiteNode, SiteType } from '../config/estate-file.ts'
import type { Bus, Device } from '../core/bus.ts'
import { ZhianError } from '../errors.ts'
import { isValidId } from '../mqtt/topics.ts'
import { type Db, migrate } from '../store/db.ts'
import {
  DEVICE_COST,
  generateSecret,
  hashGeneratedSecret,
  hashSecret,
  VerifiedSecrets,
  verifySecret,
  verifySecretAtOnce,
} from '../util/secrets.ts'
import { REGISTRY_MIGRATIONS } from './schema.ts'

export interface Site {
  id: string
  type: SiteType
  name: string
  parent: string | undefined
}

export interface DeviceInput {
  id: string
  kind: string
  estate: string
  building?: string | undefined
  name?: string | undefined
  location?: string | undefined
  params?: Record<string, unknown> | undefined
  /** Plain secret; generated when absent and returned once. */
  secret?: string | undefined
  secret_hash?: string | undefined
  /** Device model `<vendor>/<model>` (devices/models/). */
  model?: string | undefined
  dev_eui?: string | undefined
  imei?: string | undefined
  platform_device_id?: string | undefined
}

interface DeviceRow {
  id: string
  kind: string
  estate_id: string
  building_id: string | null
  name: string | null
  location: string | null
  secret_hash: string
  params: string
  source: string
  model: string | null
  dev_eui: string | null
  imei: string | null
  platform_device_id: string | null
}

const MODEL_ERRORS = {
  unknown_model: 'ZHIAN_ERR_UNKNOWN_MODEL',
  kind_not_available: 'ZHIAN_ERR_KIND_NOT_AVAILABLE',
  wrong_kind: 'ZHIAN_ERR_MODEL_KIND',
} as const

const identityKey = (kind: IdentityKind, value: string) => `${kind} ${normalIdentity(kind, value)}`

export type AuthResult = 'ok' | 'unknown_device' | 'bad_secret'

/**
 * Sites and devices: stored in SQLite, cached in memory for the hot path. The CLI may change the
 * database while a hub runs; SQLite's data_version tells us, and we reload within a second.
 */
export class Registry {
  private readonly devices = new Map<string, Device>()
  private readonly hashes = new Map<string, string>()
  /** `<identity kind> <value>` → device id. */
  private readonly identities = new Map<string, string>()
  private readonly sitesById = new Map<string, Site>()
  private readonly verified = new VerifiedSecrets()
  private dataVersion = -1
  /** The stored hash of the most common kind (`scrypt$N$r$p` or `sha256`): what an unknown id is checked against. */
  private decoy: string | undefined
  private fallbackDecoy: Promise<string> | undefined
  private poll: NodeJS.Timeout | undefined

  constructor(
    private readonly db: Db,
    private readonly bus: Bus,
  ) {}

  /** Create tables and load the cache; safe to call for CLI use without start(). */
  open(): void {
    migrate(this.db, 'registry', REGISTRY_MIGRATIONS)
    this.reload()
  }

  start(): void {
    this.open()
    this.poll = setInterval(() => this.reloadIfChanged(), 1000)
    this.poll.unref()
  }

  stop(): void {
    clearInterval(this.poll)
  }

  get(id: string): Device | undefined {
    return this.devices.get(id)
  }

  /** The device a platform knows by this identity (a DevEUI in either case), if any. */
  byIdentity(kind: IdentityKind, value: string): Device | undefined {
    const id = this.identities.get(identityKey(kind, value))
    return id === undefined ? undefined : this.devices.get(id)
  }

  list(): Device[] {
    return [...this.devices.values()].sort((a, b) => a.id.localeCompare(b.id))
  }

  site(id: string): Site | undefined {
    return this.sitesById.get(id)
  }

  sites(): Site[] {
    return [...this.sitesById.values()]
  }

  /** Ids of the node and everything below it. */
  subtree(id: string): Set<string> {
    const out = new Set<string>([id])
    let grew = true
    while (grew) {
      grew = false
      for (const s of this.sitesById.values()) {
        if (s.parent && out.has(s.parent) && !out.has(s.id)) {
          out.add(s.id)
          grew = true
        }
      }
    }
    return out
  }

  async authenticate(id: string, secret: string): Promise<AuthResult> {
    const atOnce = this.authenticateAtOnce(id, secret)
    if (atOnce !== undefined) return atOnce
    const hash = this.hashes.get(id)
    if (hash === undefined) {
      // Constant-time policy: an unknown id costs what a wrong secret costs, so timing does not tell
      // which ids exist. The check runs against a real device's hash (of the kind most devices have,
      // the same function and parameters) and its result is ignored.
      await verifySecret(secret, await this.decoyHash(), 'low')
      return 'unknown_device'
    }
    if (!(await verifySecret(secret, hash, 'low'))) return 'bad_secret'
    // The device may have been removed or re-keyed while scrypt ran.
    if (this.hashes.get(id) !== hash) return 'bad_secret'
    this.verified.remember(id, secret)
    return 'ok'
  }

  /**
   * The answer when it needs no KDF — a secret verified since start (one HMAC), a hub-generated
   * secret's SHA-256, an unknown id while the decoy is a SHA-256 — or undefined when scrypt must run
   * (authenticate). Lets a caller that rations KDF work answer these at once instead of queueing them.
   */
  authenticateAtOnce(id: string, secret: string): AuthResult | undefined {
    const hash = this.hashes.get(id)
    if (hash === undefined) {
      if (!this.decoy || verifySecretAtOnce(secret, this.decoy) === undefined) return undefined
      return 'unknown_device'
    }
    if (this.verified.has(id, secret)) return 'ok'
    const match = verifySecretAtOnce(secret, hash)
    if (match === undefined) return undefined
    if (!match) return 'bad_secret'
    this.verified.remember(id, secret)
    return 'ok'
  }

  /** The hash an unknown id is verified against (exported for the constant-time test). */
  decoyHash(): Promise<string> {
    if (this.decoy) return Promise.resolve(this.decoy)
    // No devices yet: a typed device secret's cost.
    this.fallbackDecoy ??= hashSecret(generateSecret(), DEVICE_COST)
    return this.fallbackDecoy
  }

  /** Add one device; returns the plain secret when the hub generated it (shown once, never stored). */
  async add(input: DeviceInput, source = 'api'): Promise<{ device: Device; secret: string | undefined }> {
    const [prepared] = await this.prepare([input])
    if (this.devices.has(input.id)) throw new ZhianError('ZHIAN_ERR_DEVICE_EXISTS', input.id)
    this.writeDevices([prepared!.row], source)
    this.reload()
    return { device: this.devices.get(input.id)!, secret: prepared!.generated }
  }

  remove(id: string): boolean {
    const changed = this.db.prepare('DELETE FROM devices WHERE id = ?').run(id).changes > 0
    if (changed) this.reload()
    return changed
  }

  /**
   * Bulk import, all or nothing. Columns: id,kind,estate,building,name,location,secret and optionally
   * model,dev_eui,imei,platform_device_id (header row required; all but id, kind and estate may be
   * empty). Existing devices are updated.
   */
  async importCsv(
    text: string,
  ): Promise<{ added: number; updated: number; secrets: Record<string, string> }> {
    let records: Record<string, string>[]
    try {
      records = parseCsv(text, { columns: true, skip_empty_lines: true, trim: true, bom: true })
    } catch (err) {
      throw new ZhianError('ZHIAN_ERR_CSV_INVALID', (err as Error).message)
    }
    if (records.length === 0) throw new ZhianError('ZHIAN_ERR_CSV_INVALID', 'no rows')
    const missing = ['id', 'kind', 'estate'].filter((c) => !(c in records[0]!))
    if (missing.length)
      throw new ZhianError('ZHIAN_ERR_CSV_INVALID', `missing column(s) ${missing.join(', ')}`)
    const inputs = records.map((r) => ({
      id: r.id ?? '',
      kind: r.kind ?? '',
      estate: r.estate ?? '',
      building: r.building || undefined,
      name: r.name || undefined,
      location: r.location || undefined,
      secret: r.secret || undefined,
      model: r.model || undefined,
      dev_eui: r.dev_eui || undefined,
      imei: r.imei || undefined,
      platform_device_id: r.platform_device_id || undefined,
    }))
    const seen = new Set<string>()
    for (const [i, input] of inputs.entries()) {
      if (seen.has(input.id))
        throw new ZhianError('ZHIAN_ERR_CSV_INVALID', `line ${i + 2}: duplicate id "${input.id}"`)
      seen.add(input.id)
    }
    const prepared = await this.prepare(inputs, (i, err) =>
      err instanceof ZhianError
        ? new ZhianError('ZHIAN_ERR_CSV_INVALID', `line ${i + 2}: ${err.message}`)
        : err,
    )
    const updated = inputs.filter((d) => this.devices.has(d.id)).length
    this.writeDevices(
      prepared.map((p) => p.row),
      'api',
    )
    this.reload()
    const secrets: Record<string, string> = {}
    for (const p of prepared) if (p.generated) secrets[p.row.id] = p.generated
    return { added: inputs.length - updated, updated, secrets }
  }

  /**
   * Make the store match the estate file: its sites and devices here, its users through auth; things
   * added by CLI/API stay.
   */
  async applyEstate(estate: EstateFile): Promise<void> {
    const sites: Site[] = []
    const walk = (nodes: SiteNode[], parent: string | undefined) => {
      for (const n of nodes) {
        sites.push({ id: n.id, type: n.type, name: n.name, parent })
        walk(n.children ?? [], n.id)
      }
    }
    walk(estate.sites, undefined)
    // Reuse a stored hash when the file's plain secret still matches it, so restarts do not re-hash everything.
    const inputs = await Promise.all(
      estate.devices.map(async (d) => {
        const stored = this.hashes.get(d.id)
        if (d.secret && stored && (await verifySecret(d.secret, stored))) {
          return { ...d, secret: undefined, secret_hash: stored }
        }
        return d
      }),
    )
    this.db.transaction(() => {
      const upsertSite = this.db.prepare(
        `INSERT INTO sites (id, type, name, parent_id, source) VALUES (@id, @type, @name, @parent, 'config')
         ON CONFLICT(id) DO UPDATE SET type = excluded.type, name = excluded.name, parent_id = excluded.parent_id`,
      )
      for (const s of sites) upsertSite.run({ ...s, parent: s.parent ?? null })
    })()
    this.reload()
    const keep = new Set(estate.devices.map((d) => d.id))
    const stale = (
      this.db.prepare("SELECT id FROM devices WHERE source = 'config'").all() as { id: string }[]
    )
      .map((r) => r.id)
      .filter((id) => !keep.has(id))
    // A device leaving the file gives up its platform identities to the file's devices.
    const prepared = await this.prepare(inputs, undefined, new Set(stale))
    const keepSites = new Set(sites.map((s) => s.id))
    this.db.transaction(() => {
      const del = this.db.prepare('DELETE FROM devices WHERE id = ?')
      for (const id of stale) del.run(id)
      this.writeDevices(
        prepared.map((p) => p.row),
        'config',
      )
      // Config sites that left the file go too (leaves first), unless a device still belongs to them.
      const delSite = this.db.prepare(
        `DELETE FROM sites WHERE id = ? AND NOT EXISTS (SELECT 1 FROM devices WHERE estate_id = sites.id OR building_id = sites.id)
           AND NOT EXISTS (SELECT 1 FROM sites c WHERE c.parent_id = sites.id)`,
      )
      const gone = (this.db.prepare("SELECT id FROM sites WHERE source = 'config'").all() as { id: string }[])
        .map((r) => r.id)
        .filter((id) => !keepSites.has(id))
      for (let pass = 0; pass < 4; pass++) for (const id of gone) delSite.run(id)
    })()
    this.reload()
    // People are auth's: its table, and the sessions a changed or removed user loses.
    await new Users(this.db).applyEstate(estate.users)
  }

  /** The store as an estate file (secrets as hashes): what `zhian config export` prints. */
  exportEstate(overrides: EstateFile['overrides'] = {}): EstateFile {
    const children = (parent: string | undefined): SiteNode[] =>
      this.sites()
        .filter((s) => s.parent === parent)
        .sort((a, b) => a.id.localeCompare(b.id))
        .map((s) => {
          const kids = children(s.id)
          return { id: s.id, type: s.type, name: s.name, ...(kids.length ? { children: kids } : {}) }
        })
    return {
      sites: children(undefined),
      devices: this.list().map((d) => ({
        id: d.id,
        kind: d.kind,
        estate: d.estate,
        ...(d.building ? { building: d.building } : {}),
        ...(d.name ? { name: d.name } : {}),
        ...(d.location ? { location: d.location } : {}),
        secret_hash: this.hashes.get(d.id)!,
        ...(Object.keys(d.params).length ? { params: d.params } : {}),
        ...(d.model ? { model: d.model } : {}),
        ...d.identity,
      })),
      users: new Users(this.db).exportEstate(),
      overrides,
    }
  }

  /**
   * Validate inputs against sites, models, kind params and the platform identities other devices hold
   * (but those of `released`, which are being removed), and hash secrets; throws before anything is written.
   */
  private async prepare(
    inputs: DeviceInput[],
    wrap: (index: number, err: unknown) => unknown = (_i, e) => e,
    released: ReadonlySet<string> = new Set(),
  ): Promise<{ row: DeviceRow; generated: string | undefined }[]> {
    const rewritten = new Set(inputs.map((d) => d.id))
    const claimed = new Map<string, string>()
    const checked = inputs.map((input, i) => {
      try {
        const ok = this.check(input)
        this.claimIdentities(ok, claimed, (holder) => rewritten.has(holder) || released.has(holder))
        return ok
      } catch (err) {
        throw wrap(i, err)
      }
    })
    return Promise.all(
      checked.map(async (input) => {
        const generated = input.secret || input.secret_hash ? undefined : generateSecret()
        const hash =
          input.secret_hash ??
          (generated ? hashGeneratedSecret(generated) : await hashSecret(input.secret!, DEVICE_COST))
        return {
          generated,
          row: {
            id: input.id,
            kind: input.kind,
            estate_id: input.estate,
            building_id: input.building ?? null,
            name: input.name ?? null,
            location: input.location ?? null,
            secret_hash: hash,
            params: JSON.stringify(input.params ?? {}),
            source: 'api',
            model: input.model ?? null,
            dev_eui: input.dev_eui === undefined ? null : normalIdentity('dev_eui', input.dev_eui),
            imei: input.imei ?? null,
            platform_device_id: input.platform_device_id ?? null,
          },
        }
      }),
    )
  }

  /**
   * Claim `input`'s identities in `claimed` (this write's); one another input of this write claimed, or
   * a device keeps (not `isFreed`: rewritten by this write or being removed), is taken.
   */
  private claimIdentities(
    input: DeviceInput,
    claimed: Map<string, string>,
    isFreed: (holder: string) => boolean,
  ): void {
    for (const kind of IDENTITY_KINDS) {
      const value = input[kind]
      if (value === undefined) continue
      const key = identityKey(kind, value)
      const holder = claimed.get(key) ?? this.identities.get(key)
      if (holder !== undefined && holder !== input.id && (claimed.has(key) || !isFreed(holder))) {
        throw new ZhianError(
          'ZHIAN_ERR_IDENTITY_TAKEN',
          `${kind} "${value}" of "${input.id}" belongs to "${holder}"`,
        )
      }
      claimed.set(key, input.id)
    }
  }

  private check(input: DeviceInput): DeviceInput {
    if (!isValidId(input.id)) throw new ZhianError('ZHIAN_ERR_INVALID_ID', JSON.stringify(input.id))
    // The model first: one whose kind this hub lacks says so, rather than "unknown kind".
    if (input.model !== undefined) {
      const problem = modelProblem(input.model, input.kind)
      if (problem)
        throw new ZhianError(MODEL_ERRORS[problem.code], `device "${input.id}": ${problem.message}`)
    }
    if (!isKindId(input.kind)) throw new ZhianError('ZHIAN_ERR_UNKNOWN_KIND', JSON.stringify(input.kind))
    if (this.sitesById.get(input.estate)?.type !== 'estate') {
      throw new ZhianError('ZHIAN_ERR_UNKNOWN_SITE', `estate "${input.estate}"`)
    }
    if (input.building) {
      const b = this.sitesById.get(input.building)
      if (b?.type !== 'building' || b.parent !== input.estate) {
        throw new ZhianError(
          'ZHIAN_ERR_UNKNOWN_SITE',
          `building "${input.building}" of estate "${input.estate}"`,
        )
      }
    }
    if (input.secret !== undefined && input.secret.length < 12) throw new ZhianError('ZHIAN_ERR_WEAK_SECRET')
    for (const kind of IDENTITY_KINDS) {
      const problem = input[kind] === undefined ? undefined : identityProblem(kind, input[kind])
      if (problem) throw new ZhianError('ZHIAN_ERR_VALIDATION', `${kind} of "${input.id}": ${problem}`)
    }
    const params = deviceParamsSchema(input.kind as KindId, input.model).safeParse(input.params ?? {})
    if (!params.success) {
      throw new ZhianError('ZHIAN_ERR_VALIDATION', `params: ${params.error.issues[0]!.message}`)
    }
    return input
  }

  private writeDevices(rows: DeviceRow[], source: string): void {
    const stmt = this.db.prepare(
      `INSERT INTO devices (id, kind, estate_id, building_id, name, location, secret_hash, params, source, created_at,
         model, dev_eui, imei, platform_device_id)
       VALUES (@id, @kind, @estate_id, @building_id, @name, @location, @secret_hash, @params, @source, @now,
         @model, @dev_eui, @imei, @platform_device_id)
       ON CONFLICT(id) DO UPDATE SET kind = excluded.kind, estate_id = excluded.estate_id,
         building_id = excluded.building_id, name = excluded.name, location = excluded.location,
         secret_hash = excluded.secret_hash, params = excluded.params, source = excluded.source,
         model = excluded.model, dev_eui = excluded.dev_eui, imei = excluded.imei,
         platform_device_id = excluded.platform_device_id`,
    )
    // Identities first leave every row being written, so two devices may swap them in one write.
    const release = this.db.prepare(
      'UPDATE devices SET dev_eui = NULL, imei = NULL, platform_device_id = NULL WHERE id = ?',
    )
    const now = Date.now()
    this.db.transaction(() => {
      for (const row of rows) release.run(row.id)
      for (const row of rows) stmt.run({ ...row, source, now })
    })()
  }

  private loadSites(): Site[] {
    return (
      this.db.prepare('SELECT id, type, name, parent_id FROM sites').all() as {
        id: string
        type: SiteType
        name: string
        parent_id: string | null
      }[]
    ).map((r) => ({ id: r.id, type: r.type, name: r.name, parent: r.parent_id ?? undefined }))
  }

  private reloadIfChanged(): void {
    if (this.db.dataVersion() !== this.dataVersion) this.reload()
  }

  private reload(): void {
    this.dataVersion = this.db.dataVersion()
    this.sitesById.clear()
    for (const s of this.loadSites()) this.sitesById.set(s.id, s)
    const rows = this.db.prepare('SELECT * FROM devices').all() as DeviceRow[]
    const before = new Set(this.devices.keys())
    const next = new Map<string, Device>()
    this.identities.clear()
    for (const row of rows) {
      if (!isKindId(row.kind)) continue
      const device = this.toDevice(row)
      next.set(row.id, device)
      for (const [kind, value] of Object.entries(device.identity ?? {})) {
        this.identities.set(identityKey(kind as IdentityKind, value), row.id)
      }
      if (this.hashes.get(row.id) !== row.secret_hash) this.verified.forget(row.id)
      this.hashes.set(row.id, row.secret_hash)
    }
    this.devices.clear()
    for (const [id, d] of next) this.devices.set(id, d)
    for (const id of before) {
      if (!next.has(id)) {
        this.hashes.delete(id)
        this.verified.forget(id)
        this.bus.emit('device_removed', { id })
      }
    }
    for (const [id, device] of next) if (!before.has(id)) this.bus.emit('device_added', { device })
    this.decoy = mostCommonKind(this.hashes.values())
  }

  private toDevice(row: DeviceRow): Device {
    const up = (id: string | undefined) => (id ? this.sitesById.get(id)?.parent : undefined)
    const community = up(row.estate_id)
    const found: Identity = {}
    for (const kind of IDENTITY_KINDS) if (row[kind] !== null) found[kind] = row[kind]
    const identity = Object.keys(found).length ? found : undefined
    return {
      id: row.id,
      kind: row.kind as KindId,
      estate: row.estate_id,
      building: row.building_id ?? undefined,
      name: row.name ?? undefined,
      location: row.location ?? undefined,
      params: JSON.parse(row.params) as Record<string, unknown>,
      ...(row.model ? { model: row.model } : {}),
      ...(identity ? { identity } : {}),
      site: {
        street: up(community),
        community,
        estate: row.estate_id,
        building: row.building_id ?? undefined,
      },
    }
  }
}

/** A hash of the kind (algorithm and cost parameters) most of `hashes` have. */
function mostCommonKind(hashes: Iterable<string>): string | undefined {
  const kinds = new Map<string, { n: number; hash: string }>()
  for (const hash of hashes) {
    const parts = hash.split('$')
    const kind = parts[0] === 'scrypt' ? parts.slice(0, 4).join('$') : parts[0]!
    const k = kinds.get(kind) ?? { n: 0, hash }
    k.n++
    kinds.set(kind, k)
  }
  let best: { n: number; hash: string } | undefined
  for (const k of kinds.values()) if (!best || k.n > best.n) best = k
  return best?.hash
}
