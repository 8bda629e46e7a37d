import type { FastifyInstance } from 'fastify'
import { MODEL_IDS, MODELS, summaryOf } from '../../../devices/models/index.ts'

/** `GET /api/models`: the device model catalogue (read-only, the same for every signed-in user). */
export async function modelRoutes(app: FastifyInstance): Promise<void> {
  const catalogue = MODEL_IDS.map((id) => summaryOf(MODELS[id]!))
  app.get(
    '/api/models',
    { schema: { summary: '设备型号目录 / The device model catalogue' } },
    async () => catalogue,
  )
}
