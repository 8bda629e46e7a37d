import fs from 'node:fs'
import Fastify, {
  type FastifyBaseLogger,
  type FastifyInstance,
  type FastifyReply,
  type FastifyRequest,
  LogController,
} from 'fastify'
import type { ApiToken } from '../auth/api-token.ts'
import type { Auth } from '../auth/auth.ts'
import { forward, noLeader } from '../cluster/forward.ts'
import type { CockpitService } from '../cockpit/cockpit.ts'
import type { HubConfig } from '../config/env.ts'
import type { ConnectorsHttp } from '../connectors/connectors.ts'
import type { Metrics } from '../core/metrics.ts'
import type { Dispatcher } from '../dispatch/dispatcher.ts'
import { ZhianError } from '../errors.ts'
import type { LiveState } from '../live/live-state.ts'
import type { SitePlans } from '../plans/plans.ts'
import type { Registry } from '../registry/registry.ts'
import type { ReportService } from '../reports/service.ts'
import type { Logger } from '../util/logger.ts'
import { serveDashboard } from '../web/serve.ts'
import { principalOf, requireRole } from './auth.ts'
import { trustFunction } from './client-address.ts'
import { openApi, openApiRoutes } from './openapi.ts'
import { crossSite } from './origin.ts'
import { alertRoutes } from './routes/alerts.ts'
import { auditRoutes } from './routes/audit.ts'
import { authRoutes } from './routes/auth.ts'
import { cockpitRoutes } from './routes/cockpit.ts'
import { connectorRoutes } from './routes/connectors.ts'
import { deviceRoutes } from './routes/devices.ts'
import { exportRoutes } from './routes/export.ts'
import { ingestRoutes } from './routes/ingest.ts'
import { liveRoutes } from './routes/live.ts'
import { modelRoutes } from './routes/models.ts'
import { planRoutes } from './routes/plans.ts'
import { reportRoutes } from './routes/reports.ts'
import { silenceRoutes } from './routes/silences.ts'
import { teamRoutes } from './routes/teams.ts'
import { workOrderRoutes } from './routes/work-orders.ts'
import { securityHeaders } from './security-headers.ts'
import type { RulesHttp } from './types.ts'

export interface HttpContext {
  log: Logger
  /** HTTPS certificate and which proxies to believe (ZHIAN_HTTPS_CERT/KEY, ZHIAN_TRUST_PROXY). */
  http?: Pick<HubConfig['http'], 'tls' | 'trustProxy'>
  metrics: Metrics
  registry: Registry
  apiToken: ApiToken
  /** Live facts for /healthz. */
  health: () => Record<string, unknown>
  connectionsOf: (deviceId: string) => number
  /** Alerts, silences, maintenance mode, zone occupancy (the rule engine). */
  rules?: RulesHttp
  /** Users, sessions and the API token: who is calling. */
  auth: Auth
  live: LiveState
  /** Work orders and teams (dispatch). */
  dispatch?: Dispatcher
  /** One-click reports. */
  reports?: ReportService
  /** Site plans and the street cockpit. */
  plans?: SitePlans
  cockpit?: CockpitService
  /** Platform pushes (`/ingest/*`) and the installer's view of the connectors. */
  connectors?: ConnectorsHttp
  /**
   * Cluster mode: where this node passes `/api/` requests on to — the leader's URL on a follower,
   * `undefined` on the leader (served here), `null` while no leader is known (503).
   */
  forwardTo?: () => string | null | undefined
}

/** fastify 5 app: health, metrics, login and the dashboard are open; everything else under /api needs a session or the API token. */
export function buildHttp(ctx: HttpContext): FastifyInstance {
  const tls = ctx.http?.tls
  const app = Fastify({
    loggerInstance: ctx.log.child({ feature: 'http' }) as FastifyBaseLogger,
    logController: new LogController({ disableRequestLogging: true }),
    // socket.io and MQTT over WebSocket share this server, so they are served over TLS too.
    ...(tls ? { https: { cert: fs.readFileSync(tls.cert), key: fs.readFileSync(tls.key) } } : {}),
    // req.ip (the login throttle and audit) and req.protocol (the cookie's Secure, HSTS) believe
    // X-Forwarded-For/-Proto only from these peers; by default nobody's.
    trustProxy: ctx.http?.trustProxy ? trustFunction(ctx.http.trustProxy) : false,
  }) as unknown as FastifyInstance

  securityHeaders(app)
  // Before every route: the OpenAPI document is made of the routes as they are added.
  openApi(app)
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

  // A plugin, so they are added once the OpenAPI generator collects routes (a root route is added at once).
  app.register(async (open) => {
    open.get('/healthz', { schema: { summary: '健康检查 / Health' } }, async () => ({
      status: 'ok',
      ...ctx.health(),
    }))
    open.get(
      '/metrics',
      { schema: { summary: 'Prometheus 指标 / Prometheus metrics' } },
      async (_req, reply) => {
        reply.header('content-type', ctx.metrics.registry.contentType)
        return ctx.metrics.registry.metrics()
      },
    )
  })

  app.decorateRequest('principal', null)
  const forwardTo = ctx.forwardTo
  if (forwardTo)
    app.addHook('onRequest', async (req, reply) => {
      if (!req.url.startsWith('/api/')) return
      const to = forwardTo()
      if (to === undefined) return
      if (to === null) return noLeader(reply)
      await forward(req, reply, to)
      return reply
    })
  app.register(async (api) => {
    api.addHook('onRequest', async (req: FastifyRequest, _reply: FastifyReply) => {
      if ((req.routeOptions.config as { public?: boolean }).public) return
      const credentials = ctx.auth.credentialsOf(req.headers)
      const principal = ctx.auth.principalOfToken(credentials?.token)
      if (!principal) throw new ZhianError('ZHIAN_ERR_UNAUTHORIZED')
      // The cookie rides along on any request the browser makes: refuse cross-site writes (CSRF).
      if (credentials?.via === 'cookie' && !['GET', 'HEAD'].includes(req.method) && crossSite(req.headers)) {
        throw new ZhianError('ZHIAN_ERR_FORBIDDEN', 'cross-site request')
      }
      req.principal = principal
    })
    // Before the alert routes' `/api/alerts/:id`; a static path wins in fastify's router anyway.
    if (ctx.rules) await api.register(exportRoutes, { alerts: ctx.rules.alerts })
    if (ctx.rules) {
      await api.register(alertRoutes, { ...ctx.rules, dispatch: ctx.dispatch })
      await api.register(silenceRoutes, { ...ctx.rules, dispatch: ctx.dispatch })
    }
    api.get('/api/sites', { schema: { summary: '站点树 / The site tree (in scope)' } }, async (req) => {
      const p = principalOf(req)
      if (p.scope === null) return ctx.registry.sites()
      // The scope's subtree, plus the nodes above it (their names label the path, nothing more).
      const visible = ctx.registry.subtree(p.scope)
      for (let id = ctx.registry.site(p.scope)?.parent; id; id = ctx.registry.site(id)?.parent)
        visible.add(id)
      return ctx.registry.sites().filter((s) => visible.has(s.id))
    })
    // Device management and the login audit are the unscoped admin's (scoped users read devices through /api/live/devices).
    await api.register(async (admin) => {
      admin.addHook('onRequest', async (req) => {
        requireRole(req, 'admin')
        if (req.principal?.scope !== null) throw new ZhianError('ZHIAN_ERR_FORBIDDEN', 'scoped admin')
      })
      await admin.register(deviceRoutes, { registry: ctx.registry, connectionsOf: ctx.connectionsOf })
      await admin.register(auditRoutes, { audit: ctx.auth.audit })
      await admin.register(openApiRoutes, { document: () => app.swagger() })
      if (ctx.connectors) await admin.register(connectorRoutes, { connectors: ctx.connectors })
    })
    await api.register(authRoutes, { auth: ctx.auth })
    await api.register(liveRoutes, { live: ctx.live, registry: ctx.registry })
    await api.register(modelRoutes)
    if (ctx.plans) await api.register(planRoutes, { plans: ctx.plans })
    if (ctx.cockpit) await api.register(cockpitRoutes, { cockpit: ctx.cockpit })
    if (ctx.reports) await api.register(reportRoutes, { reports: ctx.reports, registry: ctx.registry })
    if (ctx.dispatch && ctx.rules) {
      await api.register(workOrderRoutes, { dispatch: ctx.dispatch, alerts: ctx.rules.alerts })
      await api.register(teamRoutes, { dispatch: ctx.dispatch, registry: ctx.registry })
    }
  })
  // Platform pushes prove themselves with their connector's token or signature, not a session.
  if (ctx.connectors) app.register(ingestRoutes, { connectors: ctx.connectors })
  app.register(serveDashboard)
  return app
}
