import fs from 'node:fs'
import path from 'node:path'
import fastifyStatic from '@fastify/static'
import type { FastifyInstance } from 'fastify'

/** Where `npm install` (the `prepare` script → `vite build`) puts the dashboard. */
export const WEB_DIST = path.resolve(import.meta.dirname, '../../dist/web')

/** Serves the built dashboard at `/` (hash routing, so no server-side fallback is needed). */
export async function serveDashboard(app: FastifyInstance): Promise<void> {
  if (!fs.existsSync(path.join(WEB_DIST, 'index.html'))) {
    app.get('/', async (_req, reply) =>
      reply
        .status(503)
        .type('text/plain; charset=utf-8')
        .send('dashboard not built: run `npm run build:web` (npm install does it) / 仪表盘尚未构建'),
    )
    return
  }
  await app.register(fastifyStatic, {
    root: WEB_DIST,
    prefix: '/',
    wildcard: true,
    index: ['index.html'],
    // Hashed asset names can be cached for ever; index.html must always be fresh.
    setHeaders: (res, file) => {
      res.header(
        'cache-control',
        file.endsWith('index.html') ? 'no-cache' : 'public, max-age=31536000, immutable',
      )
    },
  })
}
