import type { FastifyInstance } from 'fastify'
import { z } from 'zod'
import { ZhianError } from '../../errors.ts'
import { PLAN_MAX_BYTES } from '../../plans/image.ts'
import type { SitePlans } from '../../plans/plans.ts'
import { principalOf, requireRole } from '../auth.ts'
import { parseWith } from '../parse.ts'

/**
 * Site plans (src/plans): `GET /api/plans/:estate` where the estate's buildings and devices sit,
 * `GET /api/plans/:estate/image` the picture, `PUT` (raw PNG, JPEG or SVG body, admins only) and
 * `DELETE` of an uploaded picture. Estates outside the caller's scope answer as unknown ones.
 */

const ESTATE_PARAM = z.object({ estate: z.string().max(64) })

/** An image's own answer runs nothing and loads nothing, even opened on its own (an SVG in a tab). */
const IMAGE_HEADERS = {
  helmet: {
    contentSecurityPolicy: {
      useDefaults: false,
      directives: {
        defaultSrc: ["'none'"],
        styleSrc: ["'unsafe-inline'"],
        imgSrc: ['data:'],
        sandbox: [],
      },
    },
  },
}

export async function planRoutes(app: FastifyInstance, opts: { plans: SitePlans }): Promise<void> {
  const { plans } = opts
  // Any body type reaches the handler as bytes, so a wrong type gets the plan's own coded answer. The
  // limit leaves room over PLAN_MAX_BYTES for that answer; beyond it fastify's 413 answers.
  app.addContentTypeParser('*', { parseAs: 'buffer', bodyLimit: PLAN_MAX_BYTES * 2 }, (_req, body, done) =>
    done(null, body),
  )
  app.removeContentTypeParser('application/json')
  app.addContentTypeParser(
    'application/json',
    { parseAs: 'buffer', bodyLimit: PLAN_MAX_BYTES * 2 },
    (_r, b, done) => done(null, b),
  )

  app.get(
    '/api/plans/:estate',
    { schema: { summary: "小区平面图与设备位置 / An estate's site plan", params: ESTATE_PARAM } },
    async (req) => {
      const { estate } = parseWith(ESTATE_PARAM, req.params)
      return plans.plan(principalOf(req), estate)
    },
  )

  app.get(
    '/api/plans/:estate/image',
    { ...IMAGE_HEADERS, schema: { summary: "平面图图片 / The plan's picture", params: ESTATE_PARAM } },
    async (req, reply) => {
      const { estate } = parseWith(ESTATE_PARAM, req.params)
      const image = plans.image(principalOf(req), estate)
      reply.header('content-type', image.contentType)
      reply.header('content-disposition', 'inline')
      reply.header('cache-control', 'private, max-age=60')
      reply.header('x-zhian-plan-source', image.source)
      return reply.send(image.body)
    },
  )

  app.put(
    '/api/plans/:estate/image',
    {
      schema: {
        summary: "上传平面图 (PNG/JPEG/SVG) / Upload the plan's picture",
        params: ESTATE_PARAM,
        consumes: ['image/png', 'image/jpeg', 'image/svg+xml'],
        body: { type: 'string', format: 'binary' },
      },
    },
    async (req) => {
      const p = requireRole(req, 'admin')
      const { estate } = parseWith(ESTATE_PARAM, req.params)
      if (!Buffer.isBuffer(req.body) || req.body.length === 0)
        throw new ZhianError('ZHIAN_ERR_PLAN_TYPE', `Content-Type: ${req.headers['content-type'] || '—'}`)
      return plans.upload(p, estate, req.headers['content-type'], req.body)
    },
  )

  app.delete(
    '/api/plans/:estate/image',
    { schema: { summary: '删除上传的平面图 / Remove the uploaded picture', params: ESTATE_PARAM } },
    async (req) => {
      const p = requireRole(req, 'admin')
      const { estate } = parseWith(ESTATE_PARAM, req.params)
      return plans.remove(p, estate)
    },
  )
}
