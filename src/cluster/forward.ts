import http from 'node:http'
import https from 'node:https'
import type { FastifyReply, FastifyRequest } from 'fastify'
import { ZhianError } from '../errors.ts'

/**
 * On a follower of a cluster, the API is the leader's: every `/api/` request is passed on to it as
 * it came (method, headers with the session cookie or token, body streamed) and its answer passed
 * back. So an alert acknowledged or a work order accepted through any node changes the one in-memory
 * state that acts on it (alerts, escalation timers), and reads see what the leader sees. Device
 * traffic (MQTT, platform pushes) and socket.io stay on every node; /healthz and /metrics are the
 * node's own. X-Forwarded-For carries the caller's address; the leader believes it when its
 * ZHIAN_TRUST_PROXY includes the nodes' addresses.
 */

/** Hop-by-hop headers (RFC 9110 §7.6.1) are not passed on. */
const HOP = new Set([
  'connection',
  'keep-alive',
  'proxy-connection',
  'te',
  'trailer',
  'transfer-encoding',
  'upgrade',
])

export function forward(req: FastifyRequest, reply: FastifyReply, base: string): Promise<void> {
  const target = new URL(req.raw.url ?? '/', base)
  const headers: http.OutgoingHttpHeaders = {}
  for (const [k, v] of Object.entries(req.headers)) if (!HOP.has(k) && v !== undefined) headers[k] = v
  const prior = req.headers['x-forwarded-for']
  headers['x-forwarded-for'] = prior ? `${prior}, ${req.ip}` : req.ip
  headers['x-forwarded-proto'] ??= req.protocol
  headers['x-zhian-forwarded-by'] = 'cluster'
  reply.hijack()
  return new Promise((resolve) => {
    const client = target.protocol === 'https:' ? https : http
    const out = client.request(target, { method: req.method, headers, rejectUnauthorized: false }, (res) => {
      const answer: http.OutgoingHttpHeaders = {}
      for (const [k, v] of Object.entries(res.headers)) if (!HOP.has(k) && v !== undefined) answer[k] = v
      reply.raw.writeHead(res.statusCode ?? 502, answer)
      res.pipe(reply.raw)
      res.on('end', resolve)
      res.on('error', () => resolve())
    })
    out.on('error', () => {
      if (!reply.raw.headersSent) {
        const err = new ZhianError('ZHIAN_ERR_NO_LEADER', 'the leader did not answer')
        reply.raw.writeHead(err.status, { 'content-type': 'application/json', 'retry-after': '1' })
        reply.raw.end(JSON.stringify(err.toJSON()))
      } else reply.raw.destroy()
      resolve()
    })
    req.raw.pipe(out)
  })
}

/** A follower that knows no live leader (a failover in progress): try again in a second. */
export function noLeader(reply: FastifyReply): FastifyReply {
  return reply.status(503).header('retry-after', '1').send(new ZhianError('ZHIAN_ERR_NO_LEADER').toJSON())
}
