import fs from 'node:fs'
import path from 'node:path'
import type { Hub } from '../../../src/app.ts'
import { FIXTURES, tempDir } from '../../helpers/hub.ts'

/** The connectors' estate (test/fixtures/connectors-estate.yaml) with its ChirpStack broker's URL. */
export function connectorsEstate(chirpstackUrl = 'mqtt://127.0.0.1:9', ca?: string): string {
  const text = fs.readFileSync(path.join(FIXTURES, 'connectors-estate.yaml'), 'utf8')
  const file = path.join(tempDir('zhian-connectors-'), 'estate.yaml')
  const url = ca ? `${chirpstackUrl}\n    ca: ${ca}` : chirpstackUrl
  fs.writeFileSync(file, text.replaceAll('url: CHIRPSTACK_URL', `url: ${url}`))
  return file
}

export const TOKENS = {
  ctw: 'ctwing-url-token-0123456789',
  one: 'onenet-push-token-0123456789',
  push: 'http-bearer-token-0123456789',
}

/** Readings the hub put on its bus (after the journal), per device. */
export function readingsOf(hub: Hub): { of: (device: string) => Record<string, unknown>[] } {
  const seen = new Map<string, Record<string, unknown>[]>()
  hub.bus.on('reading', (r) => {
    const list = seen.get(r.device.id) ?? []
    list.push(r.values)
    seen.set(r.device.id, list)
  })
  return { of: (device) => seen.get(device) ?? [] }
}

/** A metric's value for these labels (0 when never counted). */
export async function metric(hub: Hub, name: string, labels: Record<string, string>): Promise<number> {
  const m = hub.metrics.registry.getSingleMetric(name)
  if (!m) return 0
  const { values } = await m.get()
  return values.find((v) => Object.entries(labels).every(([k, x]) => v.labels[k] === x))?.value ?? 0
}
