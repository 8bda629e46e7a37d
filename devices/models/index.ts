/**
 * Every device model (型号) the hub knows, keyed by id (`<vendor>/<model>`, the file's path here).
 * A meta-test (test/devices/models/catalogue.test.ts) checks that every model file is listed.
 */
import { z } from 'zod'
import { isKindId, KINDS, type KindId } from '../index.ts'
import { fieldSchema } from '../schema.ts'
import type { Fields, Text } from '../types.ts'
import { pls } from './bosch/pls.ts'
import { em320Tilt } from './milesight/em320-tilt.ts'
import { em400Udl } from './milesight/em400-udl.ts'
import { em400UdlNb } from './milesight/em400-udl-nb.ts'
import { gs524n } from './milesight/gs524n.ts'
import type { DecodeResult, ModelDefinition, Transport, UplinkInput } from './types.ts'
import { pMd } from './wxhs/p-md.ts'

const LIST: readonly ModelDefinition[] = [em400Udl, em400UdlNb, em320Tilt, pls, gs524n, pMd]

export const MODELS: Readonly<Record<string, ModelDefinition>> = Object.freeze(
  Object.fromEntries(LIST.map((m) => [m.id, m])),
)
export const MODEL_IDS = Object.keys(MODELS).sort()

/** How each transport is named on screens: the platform, and the radio it carries. */
export const TRANSPORT_NAMES: Readonly<Record<Transport, Text>> = {
  chirpstack: { zh: 'ChirpStack 网络服务器(LoRaWAN)', en: 'ChirpStack network server (LoRaWAN)' },
  tts: { zh: 'The Things Stack 网络服务器(LoRaWAN)', en: 'The Things Stack network server (LoRaWAN)' },
  ctwing: { zh: '中国电信 CTWing 平台(NB-IoT)', en: 'China Telecom CTWing (NB-IoT)' },
  onenet: { zh: '中国移动 OneNET 平台(NB-IoT)', en: 'China Mobile OneNET (NB-IoT)' },
  http: { zh: '通用 HTTP 推送', en: 'Generic HTTP push' },
}

/** What a model is, for lists (CLI, API, dashboard): names, its kind (and whether this hub has it), transports, source. */
export interface ModelSummary {
  id: string
  vendor: Text
  model: string
  names: Text
  kind: string
  /** The kind's names, or undefined when this hub lacks the kind (devices cannot name the model yet). */
  kind_names: Text | undefined
  transports: { id: Transport; names: Text }[]
  params: { id: string; label: Text; unit: string | undefined }[]
  source: string
}

export function summaryOf(m: ModelDefinition): ModelSummary {
  return {
    id: m.id,
    vendor: m.vendor,
    model: m.model,
    names: m.names,
    kind: m.kind,
    kind_names: isKindId(m.kind) ? KINDS[m.kind].names : undefined,
    transports: m.transports.map((t) => ({ id: t, names: TRANSPORT_NAMES[t] })),
    params: Object.entries(m.params ?? {}).map(([id, f]) => ({
      id,
      label: f.label,
      unit: 'unit' in f ? f.unit : undefined,
    })),
    source: m.source,
  }
}

export function modelOf(id: string): ModelDefinition | undefined {
  return Object.hasOwn(MODELS, id) ? MODELS[id] : undefined
}

/** Why a device of `kind` cannot name `modelId`, as a code and an English reason; undefined when it can. */
export function modelProblem(
  modelId: string,
  kind: string,
): { code: 'unknown_model' | 'kind_not_available' | 'wrong_kind'; message: string } | undefined {
  const model = modelOf(modelId)
  if (!model) return { code: 'unknown_model', message: `unknown model "${modelId}"` }
  if (!isKindId(model.kind)) {
    return {
      code: 'kind_not_available',
      message: `model "${modelId}" implements the kind "${model.kind}", which is not available in this hub`,
    }
  }
  if (model.kind !== kind) {
    return { code: 'wrong_kind', message: `model "${modelId}" implements "${model.kind}", not "${kind}"` }
  }
  return undefined
}

const paramSchemas = new Map<string, z.ZodType<Record<string, unknown>>>()

/** The params a device of `kind` may set: its kind's, plus its model's installation params. */
export function deviceParamsSchema(kind: KindId, modelId?: string): z.ZodType<Record<string, unknown>> {
  const key = `${kind} ${modelId ?? ''}`
  let schema = paramSchemas.get(key)
  if (!schema) {
    const fields: Fields = { ...(modelOf(modelId ?? '')?.params ?? {}), ...KINDS[kind].params }
    schema = z.strictObject(
      Object.fromEntries(Object.entries(fields).map(([k, spec]) => [k, fieldSchema(spec).optional()])),
    ) as z.ZodType<Record<string, unknown>>
    paramSchemas.set(key, schema)
  }
  return schema
}

/**
 * `model.decode`, hardened: a decoder that throws, or answers something that is not a DecodeResult,
 * becomes `{ error }` like a refused frame. Decoders are written not to throw; this is the second line.
 */
export function decodeWith(model: ModelDefinition, input: UplinkInput): DecodeResult {
  let result: unknown
  try {
    result = model.decode(input)
  } catch (err) {
    return { error: `decoder failed: ${err instanceof Error ? err.message : String(err)}`.slice(0, 200) }
  }
  return wellFormed(result) ? result : { error: 'decoder returned no usable result' }
}

const isRecord = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v) && !Buffer.isBuffer(v)

function wellFormed(r: unknown): r is DecodeResult {
  if (!isRecord(r)) return false
  if ('error' in r) return typeof r.error === 'string' && r.error.length > 0 && !('decoded' in r)
  const d = r.decoded
  if (!isRecord(d)) return false
  if (d.state !== undefined && !isRecord(d.state)) return false
  if (d.ts !== undefined && !(typeof d.ts === 'number' && Number.isFinite(d.ts))) return false
  if (d.events !== undefined) {
    if (!Array.isArray(d.events)) return false
    for (const e of d.events as unknown[]) {
      if (!isRecord(e) || typeof e.type !== 'string') return false
      if (e.data !== undefined && !isRecord(e.data)) return false
    }
  }
  return true
}

export type { DecodeResult, ModelDefinition, Transport, UplinkInput } from './types.ts'
