import fs from 'node:fs'
import { parseArgs } from 'node:util'
import type { HubConfig } from '../config/env.ts'
import { Bus } from '../core/bus.ts'
import { Registry } from '../registry/registry.ts'
import { openDb } from '../store/db.ts'
import { chosenSecret, moreThanOne, secretOptions } from './secret-input.ts'

/** `zhian device add|list|remove|import`: works on the store directly; a running hub picks changes up within a second. */
export async function deviceCommand(config: HubConfig, args: string[]): Promise<number> {
  const [action, ...rest] = args
  const db = openDb(config.dataDir, config.databaseUrl)
  const registry = new Registry(db, new Bus())
  registry.open()
  try {
    switch (action) {
      case 'add': {
        const { values } = parseArgs({
          args: rest,
          options: {
            id: { type: 'string' },
            kind: { type: 'string' },
            estate: { type: 'string' },
            building: { type: 'string' },
            name: { type: 'string' },
            location: { type: 'string' },
            model: { type: 'string' },
            'dev-eui': { type: 'string' },
            imei: { type: 'string' },
            'platform-device-id': { type: 'string' },
            ...secretOptions('secret'),
          },
        })
        const chosen = chosenSecret(values, 'secret')
        if (chosen === null) {
          console.error(moreThanOne('secret'))
          return 2
        }
        const { device, secret } = await registry.add({
          id: values.id ?? '',
          kind: values.kind ?? '',
          estate: values.estate ?? '',
          building: values.building,
          name: values.name,
          location: values.location,
          secret: chosen,
          model: values.model,
          dev_eui: values['dev-eui'],
          imei: values.imei,
          platform_device_id: values['platform-device-id'],
        })
        console.log(`added ${device.kind} ${device.id} in ${device.estate}`)
        if (secret) console.log(`secret (shown once, store it in the device): ${secret}`)
        return 0
      }
      case 'list': {
        const { values } = parseArgs({ args: rest, options: { json: { type: 'boolean' } } })
        const devices = registry.list()
        if (values.json) console.log(JSON.stringify(devices, null, 2))
        else
          for (const d of devices)
            console.log([d.id, d.kind, d.estate, d.building ?? '-', d.location ?? ''].join('\t'))
        return 0
      }
      case 'remove': {
        const id = rest[0] ?? ''
        if (!registry.remove(id)) {
          console.error(`ZHIAN_ERR_UNKNOWN_DEVICE: no device "${id}"`)
          return 1
        }
        console.log(`removed ${id}`)
        return 0
      }
      case 'import': {
        const file = rest[0]
        if (!file) throw new Error('usage: zhian device import file.csv')
        const result = await registry.importCsv(fs.readFileSync(file, 'utf8'))
        console.log(`imported: ${result.added} added, ${result.updated} updated`)
        for (const [id, secret] of Object.entries(result.secrets)) console.log(`secret ${id} ${secret}`)
        return 0
      }
      default:
        console.error('usage: zhian device add|list|remove|import')
        return 2
    }
  } finally {
    db.close()
  }
}
