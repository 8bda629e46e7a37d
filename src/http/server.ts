import Fastify, {
  type FastifyBaseLogger,
  type FastifyInstance,
  type FastifyReply,
  type FastifyRequest,
  LogController,
} from 'fastify'
import type { z } from 'zod'
import type { Metrics } from '../core/metrics.ts'
import { ZhianError } from '../errors.ts'
import type { Registry } from '../registry/registry.ts'
import type { Logger } from '../util/logger.ts'
import type { ApiToken } from './api-token.ts'
import { deviceRoutes } from './routes/devices.ts'

export interface HttpContext {
  log: Logger
  metrics: Metrics
  registry: Registry
  apiToken: ApiToken
  /** Live facts for /healthz. */
  health: () => Record<string, unknown>
  connectionsOf: (deviceId: string) => number
}

/** fastify 5 app: health and metrics are open; everything under /api needs the admin token. */
export function buildHttp(ctx: HttpContext): FastifyInstance {
  const app = Fastify({
    loggerInstance: ctx.log.child({ feature: 'http' }) as FastifyBaseLogger,
    logController: new LogController({ disableRequestLogging: true }),
  }) as unknown as FastifyInstance

  app.addContentTypeParser(
    ['text/csv', 'text/plain'],
    { parseAs: 'string', bodyLimit: 5 * 1024 * 1024 },
    (_r, body, done) => done(null, body),
  )

  app.setErrorHandler((err: Error & { statusCode?: number; code?: string }, _req, reply) => {
    if (err instanceof ZhianError) return reply.status(err.status).send(err.toJSON())
    if (err.statusCode && err.statusCode < 500) {
      // fastify's own 4xx (bad JSON body, too large, unsupported type): one coded shape for clients.
      const coded = new ZhianError(
        err.statusCode === 413 ? 'ZHIAN_ERR_PAYLOAD_TOO_LARGE' : 'ZHIAN_ERR_VALIDATION',
        err.message,
      )
      return reply.status(err.statusCode).send(coded.toJSON())
    }
    ctx.log.error({ err }, 'request failed')
    return reply.status(500).send(new ZhianError('ZHIAN_ERR_INTERNAL').toJSON())
  })
  app.setNotFoundHandler((req, reply) =>
    reply
      .status(404)
      .send(new ZhianError('ZHIAN_ERR_NOT_FOUND', `${req.method} ${req.url.split('?')[0]}`).toJSON()),
  )

  app.get('/healthz', async () => ({ status: 'ok', ...ctx.health() }))
  app.get('/metrics', async (_req, reply) => {
    reply.header('content-type', ctx.metrics.registry.contentType)
    return ctx.metrics.registry.metrics()
  })

  app.decorateRequest('principal', null)
  app.register(async (api) => {
    api.addHook('onRequest', async (req: FastifyRequest, _reply: FastifyReply) => {
      const header = req.headers.authorization
      const token = header?.startsWith('Bearer ') ? header.slice(7) : undefined
      if (!ctx.apiToken.check(token)) throw new ZhianError('ZHIAN_ERR_UNAUTHORIZED')
      req.principal = { username: 'api-token', role: 'admin', scope: null }
    })
    api.get('/api/sites', async () => ctx.registry.sites())
    await api.register(deviceRoutes, { registry: ctx.registry, connectionsOf: ctx.connectionsOf })
  })
  return app
}

/** Parse a request part with zod; a failure is a coded 400 that changes nothing. */
export function parseWith<T>(schema: z.ZodType<T>, value: unknown): T {
  const result = schema.safeParse(value)
  if (!result.success) {
    const issue = result.error.issues[0]!
    throw new ZhianError('ZHIAN_ERR_VALIDATION', `${issue.path.join('.') || 'body'}: ${issue.message}`)
  }
  return result.data
}
