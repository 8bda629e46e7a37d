import type http from 'node:http'
import proxyAddr from '@fastify/proxy-addr'
import type { TrustProxy } from '../config/env.ts'

/**
 * Which peers' X-Forwarded-For is believed (ZHIAN_TRUST_PROXY), as the one function that both
 * fastify (req.ip, req.protocol) and the MQTT-over-WebSocket upgrade on /mqtt use, so the login
 * throttle, the audit and the MQTT per-address limits see the same client behind a proxy.
 * `hop` 0 is the socket's peer, 1 the address it forwarded for, and so on.
 */
export type TrustFn = (address: string, hop: number) => boolean

export function trustFunction(trust: TrustProxy | undefined): TrustFn {
  if (trust === true) return () => true
  if (typeof trust === 'number') return (_address, hop) => hop < trust
  if (Array.isArray(trust) && trust.length > 0) return proxyAddr.compile(trust)
  return () => false
}

/** The client's address: the socket's, or the forwarded one as far as the chain is trusted. */
export function clientAddress(req: http.IncomingMessage, trust: TrustFn): string {
  return proxyAddr(req, trust) ?? req.socket.remoteAddress ?? 'unknown'
}
