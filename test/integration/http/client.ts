import http from 'node:http'
import https from 'node:https'

export interface Answer {
  status: number
  headers: http.IncomingHttpHeaders
  body: string
}

/**
 * One HTTP(S) request with what fetch cannot set: the local source address (loopback is 127.0.0.0/8,
 * so 127.0.0.2 is "another machine" to the hub) and a CA for the test certificate.
 */
export function request(
  url: string,
  init: {
    method?: string
    headers?: Record<string, string>
    body?: string
    localAddress?: string
    ca?: Buffer
  } = {},
): Promise<Answer> {
  const u = new URL(url)
  const transport = u.protocol === 'https:' ? https : http
  return new Promise((resolve, reject) => {
    const req = transport.request(
      u,
      {
        method: init.method ?? 'GET',
        headers: init.headers,
        ...(init.localAddress ? { localAddress: init.localAddress } : {}),
        ...(init.ca ? { ca: init.ca, servername: 'localhost' } : {}),
      },
      (res) => {
        const chunks: Buffer[] = []
        res.on('data', (c: Buffer) => chunks.push(c))
        res.on('end', () =>
          resolve({
            status: res.statusCode ?? 0,
            headers: res.headers,
            body: Buffer.concat(chunks).toString(),
          }),
        )
      },
    )
    req.on('error', reject)
    req.end(init.body)
  })
}

/** POST /api/auth/login as a browser would. */
export function loginFrom(
  baseUrl: string,
  username: string,
  password: string,
  extra: { localAddress?: string; headers?: Record<string, string>; ca?: Buffer } = {},
): Promise<Answer> {
  return request(`${baseUrl}/api/auth/login`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...extra.headers },
    body: JSON.stringify({ username, password }),
    ...(extra.localAddress ? { localAddress: extra.localAddress } : {}),
    ...(extra.ca ? { ca: extra.ca } : {}),
  })
}
