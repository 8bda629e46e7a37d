import { base64Bytes, isObject, type ParseResult, textId } from '../uplink.ts'

/**
 * zhian's generic push (`POST /ingest/http/<connector id>`, README "Connectors"): for AI cameras, lift
 * boxes and platforms that can call a URL. `{device, model?, payload | data, f_port?, id?, ts?}`:
 * `device` is the device's `platform_device_id` or its zhian id; `payload` a JSON object (zhian's native
 * JSON without a model), `data` base64 bytes for a model; `id` names the message, so a retry is
 * recognised.
 */
export function parseHttpPush(body: unknown): ParseResult {
  if (!isObject(body)) return { error: 'not a JSON object' }
  const device = textId(body.device)
  if (!device) return { error: '`device` is a device id' }
  if (body.model !== undefined && typeof body.model !== 'string') return { error: '`model` is a model id' }
  const json = body.payload
  if (json !== undefined && !isObject(json)) return { error: '`payload` is a JSON object' }
  const bytes = body.data === undefined ? undefined : base64Bytes(body.data)
  if (body.data !== undefined && !bytes) return { error: '`data` is not base64' }
  if (!json && !bytes) return { error: 'give `payload` or `data`' }
  const id = textId(body.id)
  const fPort = typeof body.f_port === 'number' ? body.f_port : undefined
  return {
    uplinks: [
      {
        ids: [
          { kind: 'platform_device_id', value: device },
          { kind: 'device_id', value: device },
        ],
        keys: id ? [`msg:${device}:${id}`] : [],
        payload: {
          ...(json ? { json } : {}),
          ...(bytes ? { bytes } : {}),
          ...(fPort !== undefined ? { fPort } : {}),
        },
        ts: typeof body.ts === 'number' ? body.ts : undefined,
        ...(typeof body.model === 'string' ? { model: body.model } : {}),
      },
    ],
  }
}
