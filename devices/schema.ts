import { z } from 'zod'
import { KIND_IDS, KINDS, type KindId } from './index.ts'
import type { FieldSpec, Fields, KindDefinition } from './types.ts'

/** zod schemas derived from the kind definitions; built once at module load (hot path uses safeParse). */

export function fieldSchema(spec: FieldSpec): z.ZodType {
  switch (spec.type) {
    case 'bool':
      return z.boolean()
    case 'int':
      return z.number().int().min(spec.min).max(spec.max)
    case 'float':
      return z.number().min(spec.min).max(spec.max)
    case 'enum':
      return z.enum(spec.values)
    case 'string':
      return z.string().max(spec.maxLength)
  }
}

function optionalFields(fields: Fields): Record<string, z.ZodType> {
  return Object.fromEntries(Object.entries(fields).map(([k, s]) => [k, fieldSchema(s).optional()]))
}

/** Device clock in epoch ms, and a per-device sequence number; both optional on every message. */
const META = {
  ts: z.number().int().min(0).max(8_640_000_000_000).optional(),
  seq: z.number().int().min(0).max(Number.MAX_SAFE_INTEGER).optional(),
}

function buildState(def: KindDefinition) {
  return z.strictObject({ ...optionalFields(def.state), ...META })
}

function buildEvent(def: KindDefinition) {
  const options = Object.entries(def.events).map(([type, spec]) =>
    z.strictObject({
      type: z.literal(type),
      data: z.strictObject(optionalFields(spec.data)).optional(),
      ts: META.ts,
      seq: META.seq,
    }),
  )
  if (options.length === 0) return z.any().refine(() => false, { message: `${def.id} declares no events` })
  if (options.length === 1) return options[0]!
  return z.discriminatedUnion('type', options as [(typeof options)[0], ...(typeof options)[number][]])
}

export const INFO_SCHEMA = z.strictObject({
  model: z.string().max(64).optional(),
  vendor: z.string().max(64).optional(),
  fw: z.string().max(64).optional(),
  interval_s: z
    .number()
    .int()
    .min(1)
    .max(7 * 86_400)
    .optional(),
})

export const AVAILABILITY_VALUES = ['online', 'offline'] as const

interface KindSchemas {
  state: z.ZodType<Record<string, unknown>>
  event: z.ZodType
  set: z.ZodType<Record<string, unknown>>
  params: z.ZodType<Record<string, unknown>>
}

export const SCHEMAS = Object.fromEntries(
  KIND_IDS.map((id) => {
    const def: KindDefinition = KINDS[id]
    return [
      id,
      {
        state: buildState(def),
        event: buildEvent(def),
        set: z.strictObject(optionalFields(def.settable)),
        params: z.strictObject(optionalFields(def.params)),
      },
    ]
  }),
) as unknown as Record<KindId, KindSchemas>
