import { createHash } from 'node:crypto'
import helmet from '@fastify/helmet'
import type { FastifyInstance } from 'fastify'
import { REPORT_CSS } from '../reports/render-html.ts'

/**
 * HTTP security headers on every response of the dashboard, the API and the HTML report (@fastify/helmet).
 * - Scripts only from the hub's own files: the built dashboard has no inline script, the report none at all.
 * - Styles from the hub's own files, plus the report's one inline stylesheet by its hash. Inline `style`
 *   attributes are allowed (`style-src-attr`): ECharts writes its tooltips as HTML with style attributes.
 *   An attribute can neither run script nor carry the selectors that CSS data theft needs.
 * - No framing (`frame-ancestors 'none'`, X-Frame-Options DENY), nosniff, no referrer leaves the hub.
 * - No `upgrade-insecure-requests`: a hub on a plain-HTTP LAN would have the browser rewrite its own
 *   asset URLs to https and load nothing.
 * socket.io and MQTT over WebSocket answer on the HTTP server before fastify; these headers are fastify's.
 */
export const CONTENT_SECURITY_POLICY = {
  defaultSrc: ["'self'"],
  scriptSrc: ["'self'"],
  styleSrc: ["'self'", `'sha256-${createHash('sha256').update(REPORT_CSS).digest('base64')}'`],
  styleSrcAttr: ["'unsafe-inline'"],
  imgSrc: ["'self'", 'data:'],
  fontSrc: ["'self'"],
  connectSrc: ["'self'"],
  objectSrc: ["'none'"],
  baseUri: ["'none'"],
  formAction: ["'self'"],
  frameAncestors: ["'none'"],
}

/**
 * Route options for the report: the dashboard shows the printable page in a frame of its own origin
 * (src/web/app/ReportView.vue), so that route may be framed by the hub itself and by nobody else.
 */
export const FRAMED_BY_DASHBOARD = {
  helmet: {
    contentSecurityPolicy: {
      useDefaults: false,
      directives: { ...CONTENT_SECURITY_POLICY, frameAncestors: ["'self'"] },
    },
    frameguard: { action: 'sameorigin' as const },
  },
}

/** Registered at the root of the app (helmet is a non-encapsulated plugin), so every route has them. */
export function securityHeaders(app: FastifyInstance): void {
  app.register(helmet, {
    contentSecurityPolicy: { useDefaults: false, directives: CONTENT_SECURITY_POLICY },
    frameguard: { action: 'deny' },
    referrerPolicy: { policy: 'no-referrer' },
    strictTransportSecurity: { maxAge: 365 * 86_400, includeSubDomains: false },
  })
  // HSTS only over HTTPS, direct or through a trusted proxy: a server should not send it on plain HTTP
  // and a browser must ignore it there [RFC 6797 §7.2, §8.1].
  app.addHook('onSend', async (req, reply) => {
    if (req.protocol !== 'https') reply.raw.removeHeader('strict-transport-security')
  })
}
