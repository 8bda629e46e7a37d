import fs from 'node:fs'
import http from 'node:http'
import type { AddressInfo } from 'node:net'
import path from 'node:path'
import { onTestFinished } from 'vitest'
import { FIXTURES, tempDir } from '../../helpers/hub.ts'

/**
 * A real HTTP receiver on loopback (port 0) standing in for every channel: generic webhook, DingTalk,
 * WeCom and Feishu robots, an SMS gateway. Records each request; per path a handler decides the answer
 * (default 200 with the body the vendor sends on success).
 */

export interface Received {
  path: string
  query: URLSearchParams
  method: string
  headers: http.IncomingHttpHeaders
  body: string
  json: unknown
  at: number
}

/** `drop` closes the connection; `hang` never answers (until the caller gives up or the receiver stops). */
export type Answer = { status: number; body?: string; headers?: Record<string, string> } | 'drop' | 'hang'

export class Receiver {
  readonly requests: Received[] = []
  private server: http.Server | undefined
  private readonly handlers = new Map<string, (r: Received) => Answer>()
  port = 0

  async start(port = 0): Promise<this> {
    this.server = http.createServer((req, res) => {
      const chunks: Buffer[] = []
      req.on('data', (c: Buffer) => chunks.push(c))
      req.on('end', () => {
        const url = new URL(req.url ?? '/', 'http://x')
        const body = Buffer.concat(chunks).toString('utf8')
        let json: unknown
        try {
          json = body ? JSON.parse(body) : undefined
        } catch {
          json = undefined
        }
        const r: Received = {
          path: url.pathname,
          query: url.searchParams,
          method: req.method ?? '',
          headers: req.headers,
          body,
          json,
          at: Date.now(),
        }
        this.requests.push(r)
        const answer = this.handlers.get(url.pathname)?.(r) ?? {
          status: 200,
          body: '{"errcode":0,"errmsg":"ok","code":0}',
        }
        if (answer === 'drop') {
          req.socket.destroy()
          return
        }
        if (answer === 'hang') return
        res.writeHead(answer.status, { 'content-type': 'application/json', ...answer.headers })
        res.end(answer.body ?? '{}')
      })
    })
    await new Promise<void>((resolve) => this.server!.listen(port, '127.0.0.1', resolve))
    this.port = (this.server.address() as AddressInfo).port
    try {
      onTestFinished(() => this.stop())
    } catch {
      // outside a test
    }
    return this
  }

  async stop(): Promise<void> {
    const s = this.server
    this.server = undefined
    if (!s) return
    s.closeAllConnections()
    await new Promise<void>((resolve) => s.close(() => resolve()))
  }

  get base(): string {
    return `http://127.0.0.1:${this.port}`
  }

  on(pathname: string, handler: (r: Received) => Answer): void {
    this.handlers.set(pathname, handler)
  }

  to(pathname: string): Received[] {
    return this.requests.filter((r) => r.path === pathname)
  }
}

/** The dispatch fixture with its channel URLs pointing at `receiver`, as a temp file. */
export function estateFor(receiver: Receiver, fixture = 'dispatch-estate.yaml'): string {
  const text = fs
    .readFileSync(path.join(FIXTURES, fixture), 'utf8')
    .replaceAll('http://127.0.0.1:1/', `${receiver.base}/`)
  const file = path.join(tempDir('zhian-dispatch-estate-'), 'estate.yaml')
  fs.writeFileSync(file, text)
  return file
}
