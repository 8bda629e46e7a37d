import { parseArgs } from 'node:util'
import { MODEL_IDS, MODELS, summaryOf } from '../../devices/models/index.ts'

const USAGE = `usage: zhian models list [--json]
The device models (型号) this hub decodes: id, vendor and model, the kind they report as, the
transports they arrive by. A device names its model in the estate file (\`model:\`) or the CSV import.`

/** `zhian models list`: the model catalogue, Chinese first (it reads devices/models/, no store). */
export function modelsCommand(args: string[]): number {
  const [action, ...rest] = args
  if (action !== 'list') {
    console.error(USAGE)
    return action === undefined || action === '--help' ? 0 : 2
  }
  const { values } = parseArgs({ args: rest, options: { json: { type: 'boolean' } } })
  const models = MODEL_IDS.map((id) => summaryOf(MODELS[id]!))
  if (values.json) {
    console.log(JSON.stringify(models, null, 2))
    return 0
  }
  for (const m of models) {
    const kind = m.kind_names
      ? `${m.kind_names.zh} ${m.kind}`
      : `${m.kind}(本系统尚无此类型 / kind not available)`
    console.log(`${m.id}\t${m.vendor.zh} ${m.model}\t${m.names.zh} / ${m.names.en}`)
    console.log(`  设备类型 kind: ${kind}`)
    console.log(`  接入 transports: ${m.transports.map((t) => `${t.names.zh} / ${t.names.en}`).join('; ')}`)
    if (m.params.length) {
      console.log(
        `  安装参数 params: ${m.params.map((p) => `${p.id} (${p.label.zh}${p.unit ? `, ${p.unit}` : ''})`).join('; ')}`,
      )
    }
  }
  return 0
}
