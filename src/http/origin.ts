import type { IncomingHttpHeaders } from 'node:http'

/**
 * A request a browser sent from another site's page: its Origin names a host other than the one it
 * was sent to. The session cookie rides along on such requests, so a cookie alone must not let them
 * write (HTTP) or connect (socket.io). No Origin (curl, a server) is not cross-site; a malformed one is.
 */
export function crossSite(headers: IncomingHttpHeaders): boolean {
  const origin = headers.origin
  if (!origin) return false
  try {
    return new URL(origin).host !== headers.host
  } catch {
    return true
  }
}
