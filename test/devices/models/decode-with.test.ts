import { describe, expect, it } from 'vitest'
import { decodeWith, MODELS, modelOf } from '../../../devices/models/index.ts'
import type { ModelDefinition } from '../../../devices/models/types.ts'

/** A model whose decoder misbehaves in a given way: decodeWith is the line behind decoders written not to throw. */
function broken(decode: () => unknown): ModelDefinition {
  return { ...MODELS['milesight/em320-tilt']!, decode: decode as ModelDefinition['decode'] }
}

describe('decodeWith', () => {
  it('turns a decoder that throws into a refusal with its reason', () => {
    const result = decodeWith(
      broken(() => {
        throw new RangeError('offset out of range')
      }),
      { params: {} },
    )
    expect(result).toEqual({ error: 'decoder failed: offset out of range' })
    expect(
      decodeWith(
        broken(() => {
          throw 'plain string'
        }),
        { params: {} },
      ),
    ).toEqual({ error: 'decoder failed: plain string' })
  })

  it('turns any answer that is not a decode result into a refusal', () => {
    const garbage: unknown[] = [
      undefined,
      null,
      42,
      'ok',
      [],
      {},
      { error: '' },
      { error: 5 },
      { decoded: null },
      { decoded: [] },
      { decoded: { state: [1] } },
      { decoded: { state: 'x' } },
      { decoded: { events: {} } },
      { decoded: { events: [{ data: {} }] } },
      { decoded: { events: [{ type: 'x', data: 3 }] } },
      { decoded: { ts: Number.NaN } },
      { decoded: { ts: '2026-01-01' } },
      { decoded: {}, error: 'both' },
    ]
    for (const g of garbage)
      expect(
        decodeWith(
          broken(() => g),
          { params: {} },
        ),
        JSON.stringify(g),
      ).toEqual({ error: 'decoder returned no usable result' })
  })

  it('passes a decoder’s own answers through', () => {
    expect(
      decodeWith(
        broken(() => ({ error: 'short' })),
        { params: {} },
      ),
    ).toEqual({ error: 'short' })
    const ok = { decoded: { state: { tilt_deg: 3 }, events: [{ type: 't' }], ts: 1 } }
    expect(
      decodeWith(
        broken(() => ok),
        { params: {} },
      ),
    ).toEqual(ok)
  })

  it('finds models by id and nothing by a prototype key', () => {
    expect(modelOf('milesight/em400-udl')?.model).toBe('EM400-UDL')
    expect(modelOf('constructor')).toBeUndefined()
    expect(modelOf('__proto__')).toBeUndefined()
  })
})
