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
    { bodyLimit: PUSH_BODY_LIMIT },
    async (req, reply) => {
      const answer = await connectors.push(req.params.type, req.params.id, {
        query: (req.query ?? {}) as Record<string, unknown>,
        headers: req.headers,
        body: req.body,
      })
      return send(reply, answer)
    },
  )

  app.get<{ Params: { id: string } }>('/ingest/onenet/:id', async (req, reply) =>
    send(reply, connectors.verifyUrl('onenet', req.params.id, (req.query ?? {}) as Record<string, unknown>)),
  )
}
