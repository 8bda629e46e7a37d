import { execFile } from 'node:child_process'
import path from 'node:path'
import { promisify } from 'node:util'
import { describe, expect, it } from 'vitest'
import { KINDS } from '../../../devices/index.ts'
import { MODEL_IDS, MODELS, TRANSPORT_NAMES } from '../../../devices/models/index.ts'

const ROOT = path.resolve(import.meta.dirname, '../../..')
const run = promisify(execFile)
const zhian = (...args: string[]) =>
  run(process.execPath, ['--import', 'tsx', 'src/main.ts', ...args], { cwd: ROOT })

describe('zhian models list', () => {
  it('prints every model with its kind and transports, Chinese before English', async () => {
    const { stdout } = await zhian('models', 'list')
    const blocks = stdout.split(/\n(?=\S)/)
    expect(blocks.map((b) => b.split('\t')[0])).toEqual(MODEL_IDS)
    for (const [i, id] of MODEL_IDS.entries()) {
      const m = MODELS[id]!
      const block = blocks[i]!
      expect(block).toContain(`${m.vendor.zh} ${m.model}`)
      expect(block).toContain(`${m.names.zh} / ${m.names.en}`)
      expect(block).toContain(
        `设备类型 kind: ${(KINDS as Record<string, { names: { zh: string } }>)[m.kind]!.names.zh} ${m.kind}`,
      )
      for (const t of m.transports)
        expect(block).toContain(`${TRANSPORT_NAMES[t].zh} / ${TRANSPORT_NAMES[t].en}`)
    }
    expect(blocks[MODEL_IDS.indexOf('milesight/em400-udl')]).toContain(
      '安装参数 params: mount_depth_cm (安装深度(传感器至井底), cm)',
    )
  })

  it('--json gives the catalogue a script can read; an unknown action is a usage error', async () => {
    const { stdout } = await zhian('models', 'list', '--json')
    const models = JSON.parse(stdout) as { id: string; transports: { id: string }[] }[]
    expect(models.map((m) => m.id)).toEqual(MODEL_IDS)
    expect(models.find((m) => m.id === 'wxhs/p-md')!.transports.map((t) => t.id)).toEqual(['ctwing', 'http'])
    const err = await zhian('models', 'remove').catch((e: { code: number; stderr: string }) => e)
    expect(err).toMatchObject({ code: 2 })
    expect((err as { stderr: string }).stderr).toContain('usage: zhian models list')
  })
})
