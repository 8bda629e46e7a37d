import type { FastifyInstance } from 'fastify'
import { z } from 'zod'
import type { ConnectorsHttp } from '../../connectors/connectors.ts'
import { ZhianError } from '../../errors.ts'
import { parseWith } from '../parse.ts'

const ID_PARAM = z.object({ id: z.string().max(64) })
const SET_BODY = z.record(z.string().max(64), z.union([z.number(), z.string().max(256), z.boolean()]))

/** The connectors and the platform devices nobody claims yet: for the installer (unscoped admins). */
export async function connectorRoutes(
  app: FastifyInstance,
  opts: { connectors: ConnectorsHttp },
): Promise<void> {
  const { connectors } = opts

  app.get('/api/connectors', { schema: { summary: '接入平台 / Connectors' } }, async () => connectors.list())

  /** Platform devices that sent uplinks no device claims, newest first, with how often and a hint. */
  app.get(
    '/api/connectors/:id/unclaimed',
    { schema: { summary: '未认领的平台设备 / Platform devices no device claims', params: ID_PARAM } },
    async (req) => {
      const { id } = parseWith(ID_PARAM, req.params)
      const list = connectors.unclaimed(id)
      if (!list) throw new ZhianError('ZHIAN_ERR_UNKNOWN_CONNECTOR', id)
      return { connector: id, total: list.devices.length, ...list }
    },
  )
  /**
   * Settable properties of a device behind a LoRaWAN network server, as the downlink its model
   * encodes (ChirpStack `…/command/down`): 202, the network server queues it for the device's next
   * receive window.
   */
  app.post(
    '/api/connectors/devices/:id/set',
    {
      schema: {
        summary: '经网络服务器下发设置 / Send settable properties to a LoRaWAN device',
        params: ID_PARAM,
        body: SET_BODY,
      },
    },
    async (req, reply) => {
      const { id } = parseWith(ID_PARAM, req.params)
      const set = parseWith(SET_BODY, req.body)
      const sent = await connectors.set(id, set)
      return reply.status(202).send({ device: id, ...sent })
    },
  )
}
