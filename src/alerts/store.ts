import crypto from 'node:crypto'
import type { KindId } from '../../devices/index.ts'
import type { Bus } from '../core/bus.ts'
import { ZhianError } from '../errors.ts'
import type { RuleSignal } from '../rules/engine.ts'
import { type Db, migrate } from '../store/db.ts'
import type { Logger } from '../util/logger.ts'
import type { Alert, AlertStatus, AuditAction, AuditEntry, Channel, Severity } from './types.ts'
import { SEVERITIES } from './types.ts'

/**
 * The alert lifecycle store: one open alert per (subject, type), status active → acknowledged →
 * resolved, condition raised | cleared, every transition an audit entry. Each transition is one
 * SQLite transaction, then one bus `alert` event (history, the dashboard, dispatch and the broker's
 * MQTT `<base>/hub/alert` listen there).
 */

export const ALERT_MIGRATIONS = [
  `CREATE TABLE alerts (
     id TEXT PRIMARY KEY,
     type TEXT NOT NULL,
     kind TEXT NOT NULL,
     subject TEXT NOT NULL,
     device_id TEXT,
     street TEXT, community TEXT, estate TEXT, building TEXT,
     severity TEXT NOT NULL,
     status TEXT NOT NULL,
     condition TEXT NOT NULL,
     suppressed INTEGER NOT NULL,
     suppressed_reason TEXT,
     latched INTEGER NOT NULL,
     crew TEXT NOT NULL,
     assigned_team TEXT,
     title TEXT NOT NULL,
     message TEXT NOT NULL,
     vals TEXT NOT NULL,
     occurrences INTEGER NOT NULL,
     first_at INTEGER NOT NULL,
     last_at INTEGER NOT NULL,
     cleared_at INTEGER,
     acknowledged_at INTEGER,
     resolved_at INTEGER,
     -- subject + type while open, NULL once resolved: the database keeps "one open alert per (device, type)".
     open_key TEXT UNIQUE
   );
   CREATE INDEX alerts_first_at ON alerts(first_at);
   CREATE INDEX alerts_estate ON alerts(estate, first_at);
   CREATE TABLE alert_audit (
     seq INTEGER PRIMARY KEY AUTOINCREMENT,
     alert_id TEXT NOT NULL REFERENCES alerts(id),
     at INTEGER NOT NULL,
     action TEXT NOT NULL,
     actor TEXT NOT NULL,
     channel TEXT NOT NULL,
     note TEXT
   );
   CREATE INDEX alert_audit_alert ON alert_audit(alert_id, seq);
   CREATE TABLE silences (
     id TEXT PRIMARY KEY,
     device_id TEXT,
     site_id TEXT,
     types TEXT,
     reason TEXT NOT NULL,
     created_by TEXT NOT NULL,
     created_at INTEGER NOT NULL,
     ends_at INTEGER NOT NULL,
     ended_at INTEGER
   );
   CREATE TABLE device_maintenance (
     device_id TEXT PRIMARY KEY,
     reason TEXT,
     set_by TEXT NOT NULL,
     since INTEGER NOT NULL,
     until INTEGER
   );`,
  // A silence that starts later is a maintenance window.
  'ALTER TABLE silences ADD COLUMN starts_at INTEGER NOT NULL DEFAULT 0;',
  // hasTransition(): the rules, catching up after a crash, look up what they already signalled.
  'CREATE INDEX alerts_subject ON alerts(subject, type);',
  // Open keys of earlier versions were joined by NUL (see openKey()).
  {
    sqlite: 'UPDATE alerts SET open_key = replace(open_key, char(0), char(31)) WHERE open_key IS NOT NULL;',
    postgres: '',
  },
] as const

/** The audit actions a rule signal becomes. */
const SIGNAL_ACTIONS: Record<RuleSignal['op'], string[]> = {
  raise: ['raised', 'suppressed', 'retriggered'],
  clear: ['cleared'],
  unsuppress: ['raised'],
}

interface AlertRow {
  id: string
  type: string
  kind: string
  subject: string
  device_id: string | null
  street: string | null
  community: string | null
  estate: string | null
  building: string | null
  severity: Severity
  status: AlertStatus
  condition: 'raised' | 'cleared'
  suppressed: number
  suppressed_reason: string | null
  latched: number
  crew: string
  assigned_team: string | null
  title: string
  message: string
  vals: string
  occurrences: number
  first_at: number
  last_at: number
  cleared_at: number | null
  acknowledged_at: number | null
  resolved_at: number | null
}

export interface AlertFilter {
  status?: AlertStatus[] | undefined
  severity?: Severity[] | undefined
  kind?: string[] | undefined
  type?: string | undefined
  /** Any node of the site tree: alerts at or below it. */
  site?: string | undefined
  /** The caller's scope (null = everything). */
  scope?: string | null | undefined
  from?: number | undefined
  to?: number | undefined
  device?: string | undefined
  suppressed?: boolean | undefined
  limit: number
  offset: number
}

export interface Actor {
  actor: string
  channel: Channel
  note?: string | null | undefined
}

export interface AlertStoreOptions {
  db: Db
  bus: Bus
  log: Logger
  now?: () => number
}

const SEVERITY_RANK = Object.fromEntries(SEVERITIES.map((s, i) => [s, i])) as Record<Severity, number>

export class AlertStore {
  /** Open alerts by `subject\u0000type`, for the rule path (no query per raise). */
  private readonly open = new Map<string, Alert>()
  private readonly now: () => number

  constructor(private readonly opts: AlertStoreOptions) {
    this.now = opts.now ?? Date.now
  }

  start(): void {
    migrate(this.opts.db, 'alerts', ALERT_MIGRATIONS)
    this.open.clear()
    const rows = this.opts.db.prepare("SELECT * FROM alerts WHERE status != 'resolved'").all() as AlertRow[]
    for (const row of rows) {
      const alert = toAlert(row)
      this.open.set(openKey(alert.subject, alert.type), alert)
    }
  }

  /** The open alert of a subject and type, if any. */
  openFor(subject: string, type: string): Alert | undefined {
    return this.open.get(openKey(subject, type))
  }

  openAlerts(): Alert[] {
    return [...this.open.values()]
  }

  /** Apply a rule-engine signal: raise / re-trigger, clear (and resolve when not latched), or un-suppress. */
  apply(signal: RuleSignal): void {
    if (signal.op === 'raise') this.raise(signal)
    else if (signal.op === 'unsuppress') this.unsuppress(signal)
    else this.clear(signal)
  }

  /**
   * This signal is in the store already: an alert of its subject and type has a rule transition of
   * its kind at its very time (rule signals carry the time of their record or due timer, so a replay
   * after a crash produces the same time).
   */
  hasTransition(signal: RuleSignal): boolean {
    const actions = SIGNAL_ACTIONS[signal.op]
    const row = this.opts.db
      .prepare(
        `SELECT 1 FROM alerts JOIN alert_audit ON alert_audit.alert_id = alerts.id
         WHERE alerts.subject = ? AND alerts.type = ? AND alert_audit.at = ? AND alert_audit.channel = 'rule'
           AND alert_audit.action IN (${actions.map(() => '?').join(',')}) LIMIT 1`,
      )
      .get(signal.subject, signal.alert, signal.at, ...actions)
    return row !== undefined
  }

  get(id: string): Alert | undefined {
    const row = this.opts.db.prepare('SELECT * FROM alerts WHERE id = ?').get(id) as AlertRow | undefined
    return row ? toAlert(row) : undefined
  }

  audit(id: string): AuditEntry[] {
    return this.opts.db
      .prepare(
        'SELECT alert_id, at, action, actor, channel, note FROM alert_audit WHERE alert_id = ? ORDER BY seq',
      )
      .all(id) as AuditEntry[]
  }

  list(filter: AlertFilter): { items: Alert[]; total: number } {
    const where: string[] = []
    const args: unknown[] = []
    const inList = (column: string, values: readonly string[] | undefined) => {
      if (!values || values.length === 0) return
      where.push(`${column} IN (${values.map(() => '?').join(',')})`)
      args.push(...values)
    }
    const atOrBelow = (site: string) => {
      where.push('(street = ? OR community = ? OR estate = ? OR building = ?)')
      args.push(site, site, site, site)
    }
    inList('status', filter.status)
    inList('severity', filter.severity)
    inList('kind', filter.kind)
    if (filter.type) {
      where.push('type = ?')
      args.push(filter.type)
    }
    if (filter.device) {
      where.push('device_id = ?')
      args.push(filter.device)
    }
    if (filter.suppressed !== undefined) {
      where.push('suppressed = ?')
      args.push(filter.suppressed ? 1 : 0)
    }
    if (filter.site) atOrBelow(filter.site)
    if (filter.scope) atOrBelow(filter.scope)
    if (filter.from !== undefined) {
      where.push('last_at >= ?')
      args.push(filter.from)
    }
    if (filter.to !== undefined) {
      where.push('first_at < ?')
      args.push(filter.to)
    }
    const clause = where.length ? `WHERE ${where.join(' AND ')}` : ''
    const total = (
      this.opts.db.prepare(`SELECT COUNT(*) AS n FROM alerts ${clause}`).get(...args) as { n: number }
    ).n
    const rows = this.opts.db
      .prepare(`SELECT * FROM alerts ${clause} ORDER BY first_at DESC, id DESC LIMIT ? OFFSET ?`)
      .all(...args, filter.limit, filter.offset) as AlertRow[]
    return { items: rows.map(toAlert), total }
  }

  acknowledge(id: string, by: Actor): Alert {
    const alert = this.mustGet(id)
    if (alert.status !== 'active') {
      throw new ZhianError('ZHIAN_ERR_ALERT_STATE', `alert ${id} is ${alert.status}, not active`)
    }
    const at = this.now()
    alert.status = 'acknowledged'
    alert.acknowledged_at = at
    return this.transition(alert, 'acknowledged', at, by)
  }

  resolve(id: string, by: Actor): Alert {
    const alert = this.mustGet(id)
    if (alert.status === 'resolved')
      throw new ZhianError('ZHIAN_ERR_ALERT_STATE', `alert ${id} is already resolved`)
    const at = this.now()
    alert.status = 'resolved'
    alert.resolved_at = at
    return this.transition(alert, 'resolved', at, by)
  }

  comment(id: string, by: Actor): Alert {
    const alert = this.mustGet(id)
    return this.transition(alert, 'commented', this.now(), by)
  }

  assign(id: string, team: string, by: Actor): Alert {
    const alert = this.mustGet(id)
    if (alert.status === 'resolved') throw new ZhianError('ZHIAN_ERR_ALERT_STATE', `alert ${id} is resolved`)
    alert.assigned_team = team
    return this.transition(alert, 'assigned', this.now(), {
      ...by,
      note: by.note ? `${team}: ${by.note}` : team,
    })
  }

  private raise(s: RuleSignal): void {
    const key = openKey(s.subject, s.alert)
    const existing = this.open.get(key)
    const rule: Actor = {
      actor: 'rule',
      channel: 'rule',
      note: s.suppressed ? `suppressed: ${s.suppressed}` : null,
    }
    if (existing) {
      existing.occurrences++
      existing.last_at = s.at
      existing.values = s.values
      existing.message = s.message
      // The worst severity seen stays, unless what the alert is about changed (a new service mode).
      if (s.changed || SEVERITY_RANK[s.severity] < SEVERITY_RANK[existing.severity])
        existing.severity = s.severity
      existing.condition = 'raised'
      existing.cleared_at = null
      // A re-trigger outside the silence / maintenance makes it visible again.
      const unsuppressed = existing.suppressed && s.suppressed === null
      if (unsuppressed) {
        existing.suppressed = false
        existing.suppressed_reason = null
      }
      this.transition(
        existing,
        'retriggered',
        s.at,
        unsuppressed ? { ...rule, note: 'no longer suppressed' } : rule,
      )
      return
    }
    const alert: Alert = {
      id: newId(s.at),
      subject: s.subject,
      type: s.alert,
      kind: s.kind as KindId,
      device_id: s.device?.id ?? null,
      street: s.site.street ?? null,
      community: s.site.community ?? null,
      estate: s.site.estate,
      building: s.site.building ?? null,
      severity: s.severity,
      status: 'active',
      condition: 'raised',
      suppressed: s.suppressed !== null,
      suppressed_reason: s.suppressed,
      latched: s.latched,
      crew: s.crew,
      assigned_team: null,
      title: s.title,
      message: s.message,
      values: s.values,
      occurrences: 1,
      first_at: s.at,
      last_at: s.at,
      cleared_at: null,
      acknowledged_at: null,
      resolved_at: null,
    }
    this.transition(alert, alert.suppressed ? 'suppressed' : 'raised', s.at, rule, true)
  }

  /**
   * The gate of a suppressed alert ended while its condition still holds: it becomes an ordinary
   * alert — an audit entry `raised` (so dispatch, the dashboard and MQTT see it as a new alert).
   */
  private unsuppress(s: RuleSignal): void {
    const alert = this.open.get(openKey(s.subject, s.alert))
    if (!alert?.suppressed || alert.condition !== 'raised') return
    const was = alert.suppressed_reason
    alert.suppressed = false
    alert.suppressed_reason = null
    alert.last_at = Math.max(alert.last_at, s.at)
    alert.values = s.values
    alert.message = s.message
    this.transition(alert, 'raised', s.at, {
      actor: 'rule',
      channel: 'rule',
      note: `no longer suppressed: ${was ?? 'gate'} ended`,
    })
  }

  private clear(s: RuleSignal): void {
    const alert = this.open.get(openKey(s.subject, s.alert))
    if (!alert || alert.condition === 'cleared') return
    alert.condition = 'cleared'
    alert.cleared_at = s.at
    alert.last_at = Math.max(alert.last_at, s.at)
    const rule: Actor = { actor: 'rule', channel: 'rule', note: null }
    this.transition(alert, 'cleared', s.at, rule)
    if (!alert.latched) {
      alert.status = 'resolved'
      alert.resolved_at = s.at
      this.transition(alert, 'resolved', s.at, { ...rule, note: 'auto-resolved: condition cleared' })
    }
  }

  /** Store the alert and one audit entry atomically, then tell the bus and MQTT. */
  private transition(alert: Alert, action: AuditAction, at: number, by: Actor, insert = false): Alert {
    const entry: AuditEntry = {
      alert_id: alert.id,
      at,
      action,
      actor: by.actor,
      channel: by.channel,
      note: by.note ?? null,
    }
    const db = this.opts.db
    const row = toRow(alert)
    db.transaction(() => {
      if (insert) {
        db.prepare(
          `INSERT INTO alerts (${COLUMNS.join(', ')}) VALUES (${COLUMNS.map((c) => `@${c}`).join(', ')})`,
        ).run(row)
      } else {
        db.prepare(`UPDATE alerts SET ${COLUMNS.map((c) => `${c} = @${c}`).join(', ')} WHERE id = @id`).run(
          row,
        )
      }
      db.prepare(
        'INSERT INTO alert_audit (alert_id, at, action, actor, channel, note) VALUES (@alert_id, @at, @action, @actor, @channel, @note)',
      ).run(entry)
    })()
    const key = openKey(alert.subject, alert.type)
    if (alert.status === 'resolved') {
      if (this.open.get(key)?.id === alert.id) this.open.delete(key)
    } else this.open.set(key, alert)
    const snapshot = { ...alert }
    try {
      this.opts.bus.emit('alert', { alert: snapshot, entry })
    } catch (err) {
      this.opts.log.error({ err, alert: alert.id }, 'alert listener failed')
    }
    return snapshot
  }

  private mustGet(id: string): Alert {
    const alert = this.get(id)
    if (!alert) throw new ZhianError('ZHIAN_ERR_UNKNOWN_ALERT', id)
    // Work on the cached open instance so the rule path sees the change.
    return this.open.get(openKey(alert.subject, alert.type))?.id === id
      ? this.open.get(openKey(alert.subject, alert.type))!
      : alert
  }
}

const COLUMNS = [
  'id',
  'type',
  'kind',
  'subject',
  'device_id',
  'street',
  'community',
  'estate',
  'building',
  'severity',
  'status',
  'condition',
  'suppressed',
  'suppressed_reason',
  'latched',
  'crew',
  'assigned_team',
  'title',
  'message',
  'vals',
  'occurrences',
  'first_at',
  'last_at',
  'cleared_at',
  'acknowledged_at',
  'resolved_at',
  'open_key',
] as const

/** Subject and type joined by the unit separator (PostgreSQL text cannot hold the NUL earlier versions used). */
function openKey(subject: string, type: string): string {
  return `${subject}\u001f${type}`
}

/** Time-ordered, unique across restarts: 9 base-36 digits of ms, then 8 random hex. */
function newId(at: number): string {
  return `al_${at.toString(36).padStart(9, '0')}${crypto.randomBytes(4).toString('hex')}`
}

function toRow(a: Alert): Record<(typeof COLUMNS)[number], unknown> {
  return {
    id: a.id,
    type: a.type,
    kind: a.kind,
    subject: a.subject,
    device_id: a.device_id,
    street: a.street,
    community: a.community,
    estate: a.estate,
    building: a.building,
    severity: a.severity,
    status: a.status,
    condition: a.condition,
    suppressed: a.suppressed ? 1 : 0,
    suppressed_reason: a.suppressed_reason,
    latched: a.latched ? 1 : 0,
    crew: a.crew,
    assigned_team: a.assigned_team,
    title: JSON.stringify(a.title),
    message: JSON.stringify(a.message),
    vals: JSON.stringify(a.values),
    occurrences: a.occurrences,
    first_at: a.first_at,
    last_at: a.last_at,
    cleared_at: a.cleared_at,
    acknowledged_at: a.acknowledged_at,
    resolved_at: a.resolved_at,
    open_key: a.status === 'resolved' ? null : openKey(a.subject, a.type),
  }
}

/** An alert as a summary counts it: its place, type, times and stored JSON (`title`, `vals`) as text. */
export interface AlertSummaryRow {
  id: string
  type: string
  kind: string
  device_id: string | null
  estate: string | null
  building: string | null
  severity: Severity
  status: string
  suppressed: number
  title: string
  vals: string
  occurrences: number
  first_at: number
  cleared_at: number | null
  acknowledged_at: number | null
  resolved_at: number | null
}

/**
 * Read-only questions about the alert table for other features (reports): no cache, no bus, no
 * migration, so the CLI may ask them of a store a running hub writes to.
 */
export class AlertQueries {
  constructor(private readonly db: Db) {}

  /**
   * Alerts at or below a site node raised before `to` and still unresolved at `since` (or raised
   * since): everything that touches [since, to), in one read. Occurrences and the condition's clear
   * time are as they stood at `to` (from the audit log), so a re-trigger after a closed period does
   * not change that period's report.
   */
  touching(site: string, since: number, to: number): AlertSummaryRow[] {
    return this.db
      .prepare(
        `SELECT id, type, kind, device_id, estate, building, severity, status, suppressed, title, vals,
                1 + (SELECT COUNT(*) FROM alert_audit u
                     WHERE u.alert_id = alerts.id AND u.action = 'retriggered' AND u.at < ?) AS occurrences,
                (SELECT MAX(c.at) FROM alert_audit c
                 WHERE c.alert_id = alerts.id AND c.action = 'cleared' AND c.at < ?
                   AND NOT EXISTS (SELECT 1 FROM alert_audit r
                                   WHERE r.alert_id = c.alert_id AND r.action = 'retriggered'
                                     AND r.at >= c.at AND r.seq > c.seq AND r.at < ?)) AS cleared_at,
                first_at, acknowledged_at, resolved_at
         FROM alerts
         WHERE (street = ? OR community = ? OR estate = ? OR building = ?)
           AND first_at < ? AND (resolved_at IS NULL OR resolved_at >= ? OR first_at >= ?)`,
      )
      .all(to, to, to, site, site, site, site, to, since, since) as AlertSummaryRow[]
  }
}

function toAlert(r: AlertRow): Alert {
  return {
    id: r.id,
    subject: r.subject,
    type: r.type,
    kind: r.kind as KindId,
    device_id: r.device_id,
    street: r.street,
    community: r.community,
    estate: r.estate,
    building: r.building,
    severity: r.severity,
    status: r.status,
    condition: r.condition,
    suppressed: r.suppressed === 1,
    suppressed_reason: r.suppressed_reason,
    latched: r.latched === 1,
    crew: r.crew,
    assigned_team: r.assigned_team,
    title: JSON.parse(r.title),
    message: JSON.parse(r.message),
    values: JSON.parse(r.vals),
    occurrences: r.occurrences,
    first_at: r.first_at,
    last_at: r.last_at,
    cleared_at: r.cleared_at,
    acknowledged_at: r.acknowledged_at,
    resolved_at: r.resolved_at,
  }
}
