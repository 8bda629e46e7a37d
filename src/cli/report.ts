import fs from 'node:fs'
import path from 'node:path'
import { parseArgs } from 'node:util'
import { ALERT_MIGRATIONS } from '../alerts/store.ts'
import type { HubConfig } from '../config/env.ts'
import { loadEstateFile, zoneNames } from '../config/estate-file.ts'
import { Bus } from '../core/bus.ts'
import { Registry } from '../registry/registry.ts'
import { formatOf, ReportService } from '../reports/service.ts'
import type { Lang } from '../reports/tables.ts'
import { migrate, openDb } from '../store/db.ts'
import { createLogger } from '../util/logger.ts'

const USAGE = `usage:
  zhian report --scope SITE [--period week] [--out FILE] [--format json|html|csv|xlsx] [--lang zh|en] [--tz ZONE]
Periods: day, week, month (the last complete one), today, this-week, this-month, 2026-11-16,
2026-W47, 2026-11, 2026-11-01..2026-11-15. The format follows --out's extension (.xlsx, .csv,
.html, .json); without --out the report goes to stdout. Reads the hub's store (ZHIAN_DATA_DIR),
overrides from ZHIAN_CONFIG and InfluxDB from ZHIAN_INFLUX_*; safe while the hub runs.`

/** `zhian report`: one report to a file, from the store (the CLI is trusted like `zhian user`: any scope). */
export async function reportCommand(config: HubConfig, args: string[]): Promise<number> {
  const { values } = parseArgs({
    args,
    options: {
      scope: { type: 'string' },
      period: { type: 'string', default: 'week' },
      out: { type: 'string' },
      format: { type: 'string' },
      lang: { type: 'string', default: 'zh' },
      tz: { type: 'string' },
      help: { type: 'boolean' },
    },
  })
  if (values.help) {
    console.log(USAGE)
    return 0
  }
  if (!values.scope) {
    console.error(USAGE)
    return 2
  }
  if (values.lang !== 'zh' && values.lang !== 'en') {
    console.error('--lang is zh or en')
    return 2
  }
  const ext = values.out ? path.extname(values.out).slice(1).toLowerCase() : undefined
  const format = formatOf(values.format ?? (ext === 'htm' ? 'html' : ext), 'json')
  if (format === 'xlsx' && !values.out) {
    console.error('XLSX needs --out FILE.xlsx')
    return 2
  }
  const db = openDb(config.dataDir, config.databaseUrl)
  try {
    const registry = new Registry(db, new Bus())
    registry.open()
    // A store no hub has run on yet has no alert tables: an empty report, not an SQL error.
    migrate(db, 'alerts', ALERT_MIGRATIONS)
    const estate = config.estateFile ? loadEstateFile(config.estateFile) : undefined
    const overrides = estate?.overrides ?? {}
    const reports = new ReportService({
      db,
      registry,
      overrides: () => overrides,
      history: config.history,
      // The estate file's reports.timezone wins, as it does for the hub's API and schedules.
      tz: estate?.reports?.timezone ?? config.reportTz,
      teams: () => estate?.teams ?? [],
      zoneNames: (id) => (estate ? zoneNames(estate, id) : {}),
      log: createLogger('silent'),
    })
    const report = await reports.build({ scope: values.scope, period: values.period, tz: values.tz })
    const out = await reports.render(report, format, values.lang as Lang)
    if (values.out) {
      fs.writeFileSync(values.out, out.body)
      console.log(`${values.out}: ${report.title[values.lang as Lang]} (${format})`)
    } else process.stdout.write(out.body)
    return 0
  } finally {
    db.close()
  }
}
