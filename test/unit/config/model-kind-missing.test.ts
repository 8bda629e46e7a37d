import { describe, expect, it, vi } from 'vitest'
import { isKindId } from '../../../devices/index.ts'
import { ApiToken } from '../../../src/auth/api-token.ts'
import { Auth } from '../../../src/auth/auth.ts'
import { parseEstate } from '../../../src/config/estate-file.ts'
import { Bus } from '../../../src/core/bus.ts'
import type { ZhianError } from '../../../src/errors.ts'
import { Registry } from '../../../src/registry/registry.ts'
import { openDb } from '../../../src/store/db.ts'
import { createLogger } from '../../../src/util/logger.ts'
import { tempDir } from '../../helpers/hub.ts'

/**
 * A model may land before its kind (the GS524N smoke detector did): a hub without the kind's one line
 * in devices/index.ts — index.ts here is the real one less `smoke_detector` — refuses a device naming
 * the model with "kind not available", not with the schema's "invalid kind".
 */
vi.mock('../../../devices/index.ts', async (importOriginal) => {
  const original = (await importOriginal()) as typeof import('../../../devices/index.ts')
  const { smoke_detector: _dropped, ...KINDS } = original.KINDS
  return {
    ...original,
    KINDS,
    KIND_IDS: Object.keys(KINDS),
    isKindId: (v: string) => Object.hasOwn(KINDS, v),
    kindOf: (id: string) => KINDS[id as keyof typeof KINDS],
  }
})

const ESTATE = `sites:
  - { id: s1, type: street, name: 街道, children: [
      { id: c1, type: community, name: 社区, children: [ { id: e1, type: estate, name: 小区 } ] } ] }
devices:
  - { id: mh1, kind: manhole, estate: e1, secret: well-secret-0001 }
  - { id: sd1, kind: smoke_detector, estate: e1, secret: smoke-secret-0001, model: milesight/gs524n }
`

describe('a device naming a model whose kind the hub lacks', () => {
  it('is refused in the estate file, naming the device, the line and the missing kind', () => {
    expect(isKindId('smoke_detector')).toBe(false)
    let err: ZhianError | undefined
    try {
      parseEstate(ESTATE, 'estate.yaml')
    } catch (e) {
      err = e as ZhianError
    }
    expect(err?.code).toBe('ZHIAN_ERR_CONFIG_INVALID')
    expect(err?.message).toContain('estate.yaml:6:')
    expect(err?.message).toContain(
      'devices.1.model: device "sd1": model "milesight/gs524n" implements the kind "smoke_detector", which is not available in this hub',
    )
  })

  it('is refused by the registry (HTTP, CLI, CSV) with ZHIAN_ERR_KIND_NOT_AVAILABLE and nothing is added', async () => {
    const db = openDb(tempDir('zhian-kind-missing-'))
    const registry = new Registry(db, new Bus())
    registry.open()
    new Auth(db, new ApiToken(db), createLogger('silent')).open()
    await registry.applyEstate(parseEstate(ESTATE.split('\n').slice(0, -2).join('\n')))
    const err = await registry
      .add({ id: 'sd1', kind: 'smoke_detector', estate: 'e1', model: 'milesight/gs524n' })
      .catch((e: ZhianError) => e)
    expect((err as ZhianError).code).toBe('ZHIAN_ERR_KIND_NOT_AVAILABLE')
    expect((err as ZhianError).status).toBe(400)
    expect(registry.list().map((d) => d.id)).toEqual(['mh1'])
  })
})
