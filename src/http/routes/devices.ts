import type { FastifyInstance } from 'fastify'
import { z } from 'zod'
import type { Device } from '../../core/bus.ts'
import { ZhianError } from '../../errors.ts'
import type { Registry } from '../../registry/registry.ts'
import { parseWith } from '../parse.ts'

const DEVICE_BODY = z.strictObject({
  id: z.string(),
  kind: z.string(),
  estate: z.string(),
  building: z.string().optional(),
  name: z.string().max(128).optional(),
  location: z.string().max(256).optional(),
  secret: z.string().max(256).optional(),
  params: z.record(z.string(), z.unknown()).optional(),
  model: z.string().max(64).optional(),
  dev_eui: z.string().max(64).optional(),
  imei: z.string().max(64).optional(),
  platform_device_id: z.string().max(256).optional(),
})
const ID_PARAM = z.object({ id: z.string() })

export async function deviceRoutes(
  app: FastifyInstance,
  opts: { registry: Registry; connectionsOf: (id: string) => number },
): Promise<void> {
  const view = (d: Device) => ({ ...d, connections: opts.connectionsOf(d.id) })

  app.get('/api/devices', { schema: { summary: '设备列表 / List devices' } }, async () =>
    opts.registry.list().map(view),
  )

  app.get(
    '/api/devices/:id',
    { schema: { summary: '设备详情 / A device', params: ID_PARAM } },
    async (req) => {
      const { id } = parseWith(ID_PARAM, req.params)
      const device = opts.registry.get(id)
      if (!device) throw new ZhianError('ZHIAN_ERR_UNKNOWN_DEVICE', id)
      return view(device)
    },
  )

  app.post(
    '/api/devices',
    { schema: { summary: '登记设备 / Register a device (its secret is shown once)', body: DEVICE_BODY } },
    async (req, reply) => {
      const body = parseWith(DEVICE_BODY, req.body)
      const { device, secret } = await opts.registry.add(body)
      return reply.status(201).send({ device: view(device), ...(secret ? { secret } : {}) })
    },
  )

  app.delete(
    '/api/devices/:id',
    { schema: { summary: '删除设备 / Remove a device', params: ID_PARAM } },
    async (req, reply) => {
      const { id } = parseWith(ID_PARAM, req.params)
      if (!opts.registry.remove(id)) throw new ZhianError('ZHIAN_ERR_UNKNOWN_DEVICE', id)
      return reply.status(204).send()
    },
  )

  app.post(
    '/api/devices/import',
    {
      schema: {
        summary: '批量导入设备 / Import devices from CSV',
        body: { type: 'string', description: 'text/csv' },
      },
    },
    async (req) => {
      if (typeof req.body !== 'string')
        throw new ZhianError('ZHIAN_ERR_CSV_INVALID', 'send the file as text/csv')
      return opts.registry.importCsv(req.body)
    },
  )
}
