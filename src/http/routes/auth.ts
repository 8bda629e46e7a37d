import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import { z } from 'zod'
import { type Auth, principalOfUser, SESSION_COOKIE } from '../../auth/auth.ts'
import { permissionsOf } from '../../auth/permissions.ts'
import { ZhianError } from '../../errors.ts'
import { principalOf } from '../auth.ts'
import { parseWith } from '../parse.ts'

declare module 'fastify' {
  interface FastifyContextConfig {
    /** Reachable without credentials (login). */
    public?: boolean
  }
}

const LOGIN_BODY = z.strictObject({
  username: z.string().min(1).max(64),
  password: z.string().min(1).max(256),
})

/** Password login → session token (JSON, for API clients) and the same token as an httpOnly cookie (browsers). */
export async function authRoutes(app: FastifyInstance, opts: { auth: Auth }): Promise<void> {
  const { auth } = opts

  app.post(
    '/api/auth/login',
    {
      config: { public: true },
      schema: { summary: '登录 / Sign in (sets the session cookie)', body: LOGIN_BODY },
    },
    async (req, reply) => {
      const body = parseWith(LOGIN_BODY, req.body)
      // req.ip: the socket's address, or the forwarded one only from a trusted proxy (ZHIAN_TRUST_PROXY).
      const result = await auth.login('http', req.ip, body.username, body.password)
      if ('refused' in result) {
        if (result.refused === 'bad_password')
          throw new ZhianError('ZHIAN_ERR_UNAUTHORIZED', 'wrong username or password')
        reply.header('retry-after', String(result.retryAfter))
        throw new ZhianError('ZHIAN_ERR_LOGIN_THROTTLED', `retry in ${result.retryAfter} s`)
      }
      const user = result.user
      const { token, expiresAt } = auth.sessions.create(user.username)
      setCookie(req, reply, token, Math.floor((expiresAt - Date.now()) / 1000))
      reply.header('cache-control', 'no-store')
      return { token, expires_at: expiresAt, user: principalOfUser(user) }
    },
  )

  app.post('/api/auth/logout', { schema: { summary: '退出 / Sign out' } }, async (req, reply) => {
    const credentials = auth.credentialsOf(req.headers)
    if (credentials) auth.revoke(credentials.token)
    setCookie(req, reply, '', 0)
    return reply.status(204).send()
  })

  /** Who is calling and what it may do (`permissions.ts`): the dashboard shows only those actions. */
  app.get('/api/auth/me', { schema: { summary: '当前用户 / Who is signed in' } }, async (req) => {
    const p = principalOf(req)
    return { ...p, may: permissionsOf(p) }
  })
}

function setCookie(req: FastifyRequest, reply: FastifyReply, value: string, maxAge: number): void {
  const secure = req.protocol === 'https' ? '; Secure' : ''
  reply.header(
    'set-cookie',
    `${SESSION_COOKIE}=${encodeURIComponent(value)}; Path=/; HttpOnly; SameSite=Lax; Max-Age=${maxAge}${secure}`,
  )
}
