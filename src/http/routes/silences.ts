import type { FastifyInstance } from 'fastify'
import { z } from 'zod'
import { MAY } from '../../auth/permissions.ts'
import type { Principal } from '../../auth/principal.ts'
import { inScope } from '../../auth/scope.ts'
import type { Device } from '../../core/bus.ts'
import { ZhianError } from '../../errors.ts'
import { ID_PATTERN } from '../../mqtt/topics.ts'
import { parseDuration } from '../../rules/duration.ts'
import { requireRole } from '../auth.ts'
import { parseWith } from '../parse.ts'
import type { RulesHttp } from '../types.ts'

/** Silences, device maintenance mode and zone occupancy: the gating and aggregates of the rule engine. */

const MAX_SILENCE_MS = 30 * 86_400_000
const id = z.string().regex(ID_PATTERN, 'ids are [a-z0-9_-]{1,64}')
const duration = z.string().transform((s, ctx) => {
  const ms = parseDuration(s)
  if (ms === undefined || ms <= 0 || ms > MAX_SILENCE_MS) {
    ctx.addIssue({ code: 'custom', message: 'a duration from "1m" to "30d", e.g. "2h"' })
    return z.NEVER
  }
  return ms
})
const SILENCE_BODY = z
  .strictObject({
    device: id.optional(),
    site: id.optional(),
    types: z.array(z.string().max(100)).min(1).max(100).optional(),
    /** Start later (epoch ms): a maintenance window. `duration` counts from the start. */
    from: z.number().int().min(0).optional(),
    duration: duration.optional(),
    until: z.number().int().min(0).optional(),
    reason: z.string().trim().min(1).max(500),
  })
  .refine((b) => (b.device === undefined) !== (b.site === undefined), {
    message: 'give exactly one of device or site',
  })
  .refine((b) => (b.duration === undefined) !== (b.until === undefined), {
    message: 'give exactly one of duration or until',
  })
const MAINTENANCE_BODY = z.strictObject({
  on: z.boolean(),
  reason: z.string().trim().min(1).max(500).optional(),
  duration: duration.optional(),
})
const ID_PARAM = z.strictObject({ id: z.string().max(100) })
const ZONE_QUERY = z.strictObject({ estate: id.optional() })

const ACTORS = MAY.silence
const READERS = MAY.read

export async function silenceRoutes(app: FastifyInstance, opts: RulesHttp): Promise<void> {
  const { gating, registry } = opts
  /** A site node is the user's when it is the scope node or below it (a building user: its building only). */
  const siteVisible = (p: Principal, siteIds: (string | undefined)[]) =>
    p.scope === null || siteIds.some((s) => s !== undefined && registry.subtree(p.scope!).has(s))
  /** A device is the user's when the scope node is one of its levels (street … building), as everywhere. */
  const deviceVisible = (p: Principal, device: Device | undefined): device is Device =>
    device !== undefined && inScope(p, device.site)
  const deviceInScope = (p: Principal, deviceId: string): Device => {
    const device = registry.get(deviceId)
    if (!deviceVisible(p, device)) throw new ZhianError('ZHIAN_ERR_UNKNOWN_DEVICE', deviceId)
    return device
  }

  app.get('/api/silences', { schema: { summary: '静默规则 / Silences' } }, async (req) => {
    const p = requireRole(req, ...READERS)
    return gating.activeSilences().filter((s) => {
      if (p.scope === null) return true
      if (s.device_id) return deviceVisible(p, registry.get(s.device_id))
      return siteVisible(p, [s.site_id ?? undefined])
    })
  })

  app.post(
    '/api/silences',
    { schema: { summary: '新建静默 / Create a silence', body: SILENCE_BODY } },
    async (req, reply) => {
      const p = requireRole(req, ...ACTORS)
      const body = parseWith(SILENCE_BODY, req.body)
      if (body.device) deviceInScope(p, body.device)
      if (body.site && (!registry.site(body.site) || !siteVisible(p, [body.site]))) {
        throw new ZhianError('ZHIAN_ERR_UNKNOWN_SITE', body.site)
      }
      const catalog = opts.catalog()
      for (const t of body.types ?? []) {
        if (catalog && !catalog.has(t)) throw new ZhianError('ZHIAN_ERR_UNKNOWN_ALERT_TYPE', t)
      }
      const now = Date.now()
      const startsAt = Math.max(now, body.from ?? now)
      const endsAt = body.until ?? startsAt + body.duration!
      if (endsAt <= startsAt) throw new ZhianError('ZHIAN_ERR_VALIDATION', 'until: must be after the start')
      if (endsAt - now > MAX_SILENCE_MS)
        throw new ZhianError('ZHIAN_ERR_VALIDATION', 'until: at most 30 days ahead')
      const silence = gating.addSilence({
        device_id: body.device ?? null,
        site_id: body.site ?? null,
        types: body.types ?? null,
        reason: body.reason,
        created_by: p.username,
        starts_at: startsAt,
        ends_at: endsAt,
      })
      return reply.status(201).send(silence)
    },
  )

  app.delete(
    '/api/silences/:id',
    { schema: { summary: '取消静默 / End a silence', params: ID_PARAM } },
    async (req, reply) => {
      const p = requireRole(req, ...ACTORS)
      const { id: silenceId } = parseWith(ID_PARAM, req.params)
      const silence = gating.getSilence(silenceId)
      const visible =
        silence &&
        (silence.device_id
          ? registry.get(silence.device_id) === undefined || deviceVisible(p, registry.get(silence.device_id))
          : siteVisible(p, [silence.site_id ?? undefined]))
      if (!silence || !visible) throw new ZhianError('ZHIAN_ERR_UNKNOWN_SILENCE', silenceId)
      gating.endSilence(silenceId)
      return reply.status(204).send()
    },
  )

  app.get(
    '/api/devices/:id/maintenance',
    { schema: { summary: '设备维保模式 / A device’s maintenance mode', params: ID_PARAM } },
    async (req) => {
      const p = requireRole(req, ...READERS)
      const { id: deviceId } = parseWith(ID_PARAM, req.params)
      deviceInScope(p, deviceId)
      const m = gating.maintenanceOf(deviceId)
      return { device_id: deviceId, on: m !== undefined, ...(m ? { maintenance: m } : {}) }
    },
  )

  /** Maintenance mode on/off: alerts of the device are recorded as suppressed while it is on. */
  app.post(
    '/api/devices/:id/maintenance',
    {
      schema: {
        summary: '开始/结束维保 / Start or end maintenance',
        params: ID_PARAM,
        body: MAINTENANCE_BODY,
      },
    },
    async (req) => {
      const p = requireRole(req, ...ACTORS)
      const { id: deviceId } = parseWith(ID_PARAM, req.params)
      const body = parseWith(MAINTENANCE_BODY, req.body)
      deviceInScope(p, deviceId)
      const until = body.duration ? Date.now() + body.duration : null
      gating.setMaintenance(deviceId, body.on, p.username, body.reason ?? null, until)
      const m = gating.maintenanceOf(deviceId)
      return { device_id: deviceId, on: m !== undefined, ...(m ? { maintenance: m } : {}) }
    },
  )

  /** Parking occupancy per estate and zone: occupied, free, unknown, total, percent. */
  app.get(
    '/api/zones',
    { schema: { summary: '区域占用 / Zone occupancy', querystring: ZONE_QUERY } },
    async (req) => {
      const p = requireRole(req, ...READERS)
      const q = parseWith(ZONE_QUERY, req.query ?? {})
      const below = p.scope === null ? undefined : registry.subtree(p.scope)
      return opts.zones(q.estate).filter((z) => !below || below.has(z.estate))
    },
  )
}
