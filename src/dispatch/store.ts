import crypto from 'node:crypto'
import type { Bus } from '../core/bus.ts'
import { type Db, hasTable, migrate } from '../store/db.ts'
import type { Logger } from '../util/logger.ts'
import type { WorkOrder, WorkOrderAction, WorkOrderEvent, WorkOrderStatus } from './types.ts'

/**
 * Work orders and their event log. Each change is one SQLite transaction (the order, its events and
 * the outbox rows it causes, written by the caller's `inTx`), then one bus `work_order` event per
 * stored event. Columns for filtering, the whole order as JSON in `doc`.
 */

export const WORK_ORDER_MIGRATIONS = [
  `CREATE TABLE work_orders (
     id TEXT PRIMARY KEY,
     alert_id TEXT,
     -- alert_id while the order is open: at most one open work order per alert.
     open_alert TEXT UNIQUE,
     status TEXT NOT NULL,
     team TEXT NOT NULL,
     alert_type TEXT NOT NULL,
     street TEXT, community TEXT, estate TEXT, building TEXT,
     opened_at INTEGER NOT NULL,
     doc TEXT NOT NULL
   );
   CREATE INDEX work_orders_alert ON work_orders(alert_id);
   CREATE INDEX work_orders_opened ON work_orders(opened_at);
   CREATE TABLE work_order_events (
     work_order_id TEXT NOT NULL REFERENCES work_orders(id),
     seq INTEGER NOT NULL,
     at INTEGER NOT NULL,
     action TEXT NOT NULL,
     actor TEXT NOT NULL,
     note TEXT,
     PRIMARY KEY (work_order_id, seq)
   );`,
] as const

export interface NewEvent {
  action: WorkOrderAction
  actor: string
  note?: string | null | undefined
  at: number
}

export interface WorkOrderFilter {
  status?: WorkOrderStatus[] | undefined
  team?: string | undefined
  alert?: string | undefined
  /** Any node of the site tree: orders at or below it. */
  site?: string | undefined
  scope?: string | null | undefined
}

export class WorkOrderStore {
  constructor(
    private readonly db: Db,
    private readonly bus: Bus,
    private readonly log: Logger,
  ) {}

  open(): void {
    migrate(this.db, 'work_orders', WORK_ORDER_MIGRATIONS)
  }

  get(id: string): WorkOrder | undefined {
    const row = this.db.prepare('SELECT doc FROM work_orders WHERE id = ?').get(id) as
      | { doc: string }
      | undefined
    return row ? (JSON.parse(row.doc) as WorkOrder) : undefined
  }

  openFor(alertId: string): WorkOrder | undefined {
    const row = this.db.prepare('SELECT doc FROM work_orders WHERE open_alert = ?').get(alertId) as
      | { doc: string }
      | undefined
    return row ? (JSON.parse(row.doc) as WorkOrder) : undefined
  }

  /** Any work order (open or closed) ever made for an alert. */
  anyFor(alertId: string): boolean {
    return Boolean(this.db.prepare('SELECT 1 FROM work_orders WHERE alert_id = ? LIMIT 1').get(alertId))
  }

  openOrders(): WorkOrder[] {
    return this.query({ status: ['dispatched', 'accepted', 'on_site'] })
  }

  events(id: string): WorkOrderEvent[] {
    return this.db
      .prepare('SELECT * FROM work_order_events WHERE work_order_id = ? ORDER BY seq')
      .all(id) as WorkOrderEvent[]
  }

  /** Newest first; `page` pages in SQL. */
  query(f: WorkOrderFilter, page?: { limit: number; offset: number }): WorkOrder[] {
    const { clause, args } = this.where(f)
    const rows = this.db
      .prepare(
        `SELECT doc FROM work_orders ${clause} ORDER BY opened_at DESC, id DESC${page ? ' LIMIT ? OFFSET ?' : ''}`,
      )
      .all(...args, ...(page ? [page.limit, page.offset] : [])) as { doc: string }[]
    return rows.map((r) => JSON.parse(r.doc) as WorkOrder)
  }

  count(f: WorkOrderFilter): number {
    const { clause, args } = this.where(f)
    return (this.db.prepare(`SELECT COUNT(*) AS n FROM work_orders ${clause}`).get(...args) as { n: number })
      .n
  }

  private where(f: WorkOrderFilter): { clause: string; args: unknown[] } {
    const where: string[] = []
    const args: unknown[] = []
    if (f.status?.length) {
      where.push(`status IN (${f.status.map(() => '?').join(',')})`)
      args.push(...f.status)
    }
    if (f.team) {
      where.push('team = ?')
      args.push(f.team)
    }
    if (f.alert) {
      where.push('alert_id = ?')
      args.push(f.alert)
    }
    for (const site of [f.site, f.scope]) {
      if (!site) continue
      where.push('(street = ? OR community = ? OR estate = ? OR building = ?)')
      args.push(site, site, site, site)
    }
    return { clause: where.length ? `WHERE ${where.join(' AND ')}` : '', args }
  }

  /**
   * Store a new or changed order with its events; `inTx` runs inside the same transaction (outbox rows).
   * Then tell the bus, one `work_order` event per stored event.
   */
  save(wo: WorkOrder, events: NewEvent[], inTx?: () => void, insert = false): WorkOrderEvent[] {
    const stored: WorkOrderEvent[] = []
    const open = wo.status === 'resolved' || wo.status === 'cancelled' ? null : wo.alert_id
    this.db.transaction(() => {
      const row = {
        id: wo.id,
        alert_id: wo.alert_id,
        open_alert: open,
        status: wo.status,
        team: wo.team,
        alert_type: wo.alert_type,
        street: wo.street,
        community: wo.community,
        estate: wo.estate,
        building: wo.building,
        opened_at: wo.opened_at,
        doc: JSON.stringify(wo),
      }
      if (insert) {
        this.db
          .prepare(
            `INSERT INTO work_orders (id, alert_id, open_alert, status, team, alert_type, street, community, estate, building, opened_at, doc)
             VALUES (@id, @alert_id, @open_alert, @status, @team, @alert_type, @street, @community, @estate, @building, @opened_at, @doc)`,
          )
          .run(row)
      } else {
        this.db
          .prepare(
            'UPDATE work_orders SET open_alert = @open_alert, status = @status, team = @team, doc = @doc WHERE id = @id',
          )
          .run(row)
      }
      let seq = (
        this.db
          .prepare('SELECT COALESCE(MAX(seq), 0) AS n FROM work_order_events WHERE work_order_id = ?')
          .get(wo.id) as { n: number }
      ).n
      for (const e of events) {
        const event: WorkOrderEvent = {
          work_order_id: wo.id,
          seq: ++seq,
          at: e.at,
          action: e.action,
          actor: e.actor,
          note: e.note ?? null,
        }
        this.db
          .prepare(
            'INSERT INTO work_order_events (work_order_id, seq, at, action, actor, note) VALUES (@work_order_id, @seq, @at, @action, @actor, @note)',
          )
          .run(event)
        stored.push(event)
      }
      inTx?.()
    })()
    for (const event of stored) {
      try {
        this.bus.emit('work_order', { work_order: { ...wo }, event })
      } catch (err) {
        this.log.error({ err, work_order: wo.id }, 'work_order listener failed')
      }
    }
    return stored
  }
}

/**
 * Read-only questions about work orders for other features (reports): no bus, no migration, so the
 * CLI may ask them of a store a running hub writes to (or one no hub has run dispatch on yet).
 */
export class WorkOrderQueries {
  constructor(private readonly db: Db) {}

  /** Orders at or below a site node opened before `to`, oldest first. */
  openedBefore(site: string, to: number): WorkOrder[] {
    if (!hasTable(this.db, 'work_orders')) return []
    return (
      this.db
        .prepare(
          `SELECT doc FROM work_orders WHERE (street = ? OR community = ? OR estate = ? OR building = ?)
           AND opened_at < ? ORDER BY opened_at, id`,
        )
        .all(site, site, site, site, to) as { doc: string }[]
    ).map((r) => JSON.parse(r.doc) as WorkOrder)
  }
}

/** Time-ordered, unique across restarts, like alert ids. */
export function newWorkOrderId(at: number): string {
  return `wo_${at.toString(36).padStart(9, '0')}${crypto.randomBytes(4).toString('hex')}`
}
