import type { FastifyInstance, FastifyReply } from 'fastify'
import type { ConnectorsHttp } from '../../connectors/connectors.ts'
import type { PushAnswer } from '../../connectors/push.ts'

/**
 * Platform pushes (src/connectors, README "Connectors"): `POST /ingest/{ctwing|onenet|http}/<connector
 * id>` and OneNET's URL check `GET /ingest/onenet/<id>`. Outside `/api`: a push proves itself with its
 * connector's token or signature (checked by the connector), never with a session. Answered only once
 * the uplink is in the journal (or refused).
 */

/** A push is one uplink: a platform's JSON envelope is a few hundred bytes; a camera's up to a few KiB. */
const PUSH_BODY_LIMIT = 64 * 1024
/** For the OpenAPI document only: the connector checks both (README "Connectors"). */
const PUSH_PARAMS = {
  type: 'object',
  properties: { type: { type: 'string', description: 'ctwing, onenet or http' }, id: { type: 'string' } },
  required: ['type', 'id'],
}
const ONENET_PARAMS = { type: 'object', properties: { id: { type: 'string' } }, required: ['id'] }

export async function ingestRoutes(
  app: FastifyInstance,
  opts: { connectors: ConnectorsHttp },
): Promise<void> {
  const { connectors } = opts
  const send = (reply: FastifyReply, answer: PushAnswer) => {
    reply.status(answer.status)
    if (answer.text) reply.type('text/plain; charset=utf-8')
    return reply.send(answer.body)
  }

  app.post<{ Params: { type: string; id: string } }>(
    '/ingest/:type/:id',
    {
      bodyLimit: PUSH_BODY_LIMIT,
      schema: {
        summary: '平台推送上行数据 / A platform pushes an uplink (ctwing, onenet, http)',
        params: PUSH_PARAMS,
        body: { description: "平台的原样报文 / the platform's envelope as it sends it" },
      },
    },
    async (req, reply) => {
      const answer = await connectors.push(req.params.type, req.params.id, {
        query: (req.query ?? {}) as Record<string, unknown>,
        headers: req.headers,
        body: req.body,
      })
      return send(reply, answer)
    },
  )

  app.get<{ Params: { id: string } }>(
    '/ingest/onenet/:id',
    { schema: { summary: 'OneNET 地址验证 / OneNET checks the push URL', params: ONENET_PARAMS } },
    async (req, reply) =>
      send(
        reply,
        connectors.verifyUrl('onenet', req.params.id, (req.query ?? {}) as Record<string, unknown>),
      ),
  )
}
