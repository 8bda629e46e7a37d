import type { FastifyInstance } from 'fastify'
import { z } from 'zod'
import type { AlertStore } from '../../alerts/store.ts'
import { type Alert, SEVERITIES } from '../../alerts/types.ts'
import { MAY } from '../../auth/permissions.ts'
import { ALERT_STATUS_NAMES, SEVERITY_NAMES } from '../../core/vocabulary.ts'
import { ID_PATTERN } from '../../mqtt/topics.ts'
import { csvCell } from '../../util/csv.ts'
import { requireRole } from '../auth.ts'
import { parseWith } from '../parse.ts'

const csvList = <T extends string>(values: readonly [T, ...T[]]) =>
  z
    .string()
    .transform((s) => s.split(',').filter(Boolean))
    .pipe(z.array(z.enum(values)))
const time = z.coerce.number().int().min(0)
const EXPORT_QUERY = z.strictObject({
  status: csvList(['active', 'acknowledged', 'resolved']).optional(),
  severity: csvList(SEVERITIES).optional(),
  kind: z
    .string()
    .transform((s) => s.split(',').filter(Boolean))
    .optional(),
  site: z.string().regex(ID_PATTERN).optional(),
  from: time.optional(),
  to: time.optional(),
})

/** One export is capped so a careless "everything since 2020" cannot hold the event loop for long. */
export const EXPORT_MAX_ROWS = 50_000
const PAGE = 500

const COLUMNS: [string, (a: Alert) => unknown][] = [
  ['id', (a) => a.id],
  ['type', (a) => a.type],
  ['severity', (a) => a.severity],
  ['status', (a) => a.status],
  ['condition', (a) => a.condition],
  ['title_zh', (a) => a.title.zh],
  ['title_en', (a) => a.title.en],
  // The words every screen uses (src/core/vocabulary.ts), for the person who opens the file.
  ['severity_zh', (a) => SEVERITY_NAMES[a.severity].zh],
  ['status_zh', (a) => ALERT_STATUS_NAMES[a.status].zh],
  ['street', (a) => a.street],
  ['community', (a) => a.community],
  ['estate', (a) => a.estate],
  ['building', (a) => a.building],
  ['device_id', (a) => a.device_id],
  ['first_at', (a) => iso(a.first_at)],
  ['last_at', (a) => iso(a.last_at)],
  ['occurrences', (a) => a.occurrences],
  ['acknowledged_at', (a) => iso(a.acknowledged_at)],
  ['resolved_at', (a) => iso(a.resolved_at)],
  ['assigned_team', (a) => a.assigned_team],
  ['suppressed', (a) => a.suppressed],
  ['values', (a) => JSON.stringify(a.values)],
]

/**
 * `GET /api/alerts/export.csv`: the alert history with the list's filters, cut to the caller's scope,
 * as UTF-8 CSV with a BOM (so Excel opens the Chinese titles right). Cells that a spreadsheet would run
 * as a formula are prefixed with `'` (CSV injection).
 */
export async function exportRoutes(app: FastifyInstance, opts: { alerts: AlertStore }): Promise<void> {
  app.get(
    '/api/alerts/export.csv',
    { schema: { summary: '导出告警 CSV / Export alerts as CSV', querystring: EXPORT_QUERY } },
    async (req, reply) => {
      const p = requireRole(req, ...MAY.read)
      const q = parseWith(EXPORT_QUERY, req.query ?? {})
      const lines = [COLUMNS.map(([name]) => name).join(',')]
      for (let offset = 0; offset < EXPORT_MAX_ROWS; offset += PAGE) {
        const { items } = opts.alerts.list({
          status: q.status,
          severity: q.severity,
          kind: q.kind,
          site: q.site,
          from: q.from,
          to: q.to,
          scope: p.scope,
          limit: Math.min(PAGE, EXPORT_MAX_ROWS - offset),
          offset,
        })
        for (const a of items) lines.push(COLUMNS.map(([, get]) => csvCell(get(a))).join(','))
        if (items.length < PAGE) break
      }
      const stamp = new Date().toISOString().slice(0, 10)
      return reply
        .type('text/csv; charset=utf-8')
        .header('content-disposition', `attachment; filename="zhian-alerts-${stamp}.csv"`)
        .send(`\uFEFF${lines.join('\r\n')}\r\n`)
    },
  )
}

function iso(ms: number | null): string {
  return ms === null ? '' : new Date(ms).toISOString()
}

/** The CSV cell rule, shared with the reports (src/util/csv.ts). */
export { csvCell as cell }
