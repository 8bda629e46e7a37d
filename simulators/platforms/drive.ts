import { KINDS } from '../../devices/index.ts'
import { modelOf } from '../../devices/models/index.ts'
import type { ModelDefinition } from '../../devices/models/types.ts'
import { simulatorOf } from '../../devices/types.ts'
import type { EstateFile } from '../../src/config/estate-file.ts'
import { ChirpStackPublisher, chirpstackUp } from './chirpstack.ts'
import { ctwingDataReport, ctwingPost } from './ctwing.ts'
import { onenetBody, onenetOpaque, onenetPost } from './onenet.ts'

/**
 * `zhian simulate --platforms`: the estate file's devices that name a model and a platform identity,
 * driven over their real transports — LoRaWAN devices as a ChirpStack network server publishing into
 * its broker (a separate local Mosquitto), NB-IoT devices as CTWing and OneNET pushing to the hub's
 * HTTP endpoints with the connector's token or signature. Each sends its kind's healthy readings, as
 * the model's own frames (`frame()`), every `intervalMs`.
 */

export interface PlatformDriveOptions {
  estate: EstateFile
  /** The hub's HTTP base URL (pushes). */
  httpUrl: string
  /** The ChirpStack broker to publish into (default: the connector's own `url`). */
  nsUrl?: string | undefined
  intervalMs: number
  log: (line: string) => void
}

interface Driven {
  id: string
  model: ModelDefinition
  send: (n: number) => Promise<boolean>
}

export class PlatformDrive {
  private readonly driven: Driven[] = []
  private publisher: ChirpStackPublisher | undefined
  private timer: NodeJS.Timeout | undefined
  private n = 0
  sent = 0
  failed = 0

  constructor(private readonly options: PlatformDriveOptions) {}

  get size(): number {
    return this.driven.length
  }

  async start(): Promise<void> {
    const { estate, httpUrl } = this.options
    const connectors = estate.connectors ?? []
    const cs = connectors.find((c) => c.type === 'chirpstack')
    if (cs && cs.type === 'chirpstack') {
      const auth = {
        ...(cs.username ? { username: cs.username } : {}),
        ...(cs.password ? { password: cs.password } : {}),
      }
      this.publisher = await ChirpStackPublisher.connect(
        this.options.nsUrl ?? cs.url,
        cs.application_id,
        auth,
      )
    }
    for (const d of estate.devices) {
      const model = d.model ? modelOf(d.model) : undefined
      if (!model?.frame) continue
      const params = d.params ?? {}
      const frame = (n: number) => model.frame!(simulatorOf(KINDS[d.kind]).healthy(n), params)
      // The first connector of each platform that serves the device's estate.
      const serves = (c: (typeof connectors)[number]) => !c.estates || c.estates.includes(d.estate)
      const ct = connectors.find((c) => c.type === 'ctwing' && serves(c))
      const one = connectors.find((c) => c.type === 'onenet' && serves(c))
      let send: Driven['send'] | undefined
      if (this.publisher && d.dev_eui && model.transports.includes('chirpstack')) {
        const publisher = this.publisher
        const device = {
          devEui: d.dev_eui.toLowerCase(),
          name: d.id,
          devAddr: d.dev_eui.slice(-8).toLowerCase(),
        }
        send = async (n) => {
          const f = frame(n)
          if (!f.bytes) return false
          await publisher.publish(
            device.devEui,
            'up',
            chirpstackUp(publisher.applicationId, device, { bytes: f.bytes, fPort: f.fPort ?? 1 }, n),
          )
          return true
        }
      } else if (ct && ct.type === 'ctwing' && d.platform_device_id && model.transports.includes('ctwing')) {
        const device = { deviceId: d.platform_device_id, imei: d.imei ?? '' }
        send = async (n) => {
          const f = frame(n)
          const payload = f.bytes ? { APPdata: f.bytes.toString('base64') } : (f.json ?? {})
          const res = await ctwingPost(
            `${httpUrl}/ingest/ctwing/${ct.id}`,
            ct.token,
            ctwingDataReport(device, payload, n),
          )
          return taken(res)
        }
      } else if (
        one &&
        one.type === 'onenet' &&
        d.platform_device_id &&
        model.transports.includes('onenet')
      ) {
        const name = d.platform_device_id
        send = async (n) => {
          const f = frame(n)
          // The device's own bytes travel as LwM2M object 19/0/0; profile properties as themselves.
          const msg = f.bytes
            ? onenetOpaque(name, d.imei ?? '', f.bytes)
            : {
                productId: 'zhian-sim',
                deviceName: name,
                messageType: 'notify',
                notifyType: 'property',
                data: { id: String(n), params: wrap(f.json ?? {}) },
              }
          const res = await onenetPost(
            `${httpUrl}/ingest/onenet/${one.id}`,
            onenetBody(one.token, msg, `${name}-${n}`),
          )
          return taken(res)
        }
      }
      if (send) this.driven.push({ id: d.id, model, send })
    }
    this.options.log(
      `${this.driven.length} model devices over their platforms → ${httpUrl}${this.publisher ? ` and ChirpStack's broker` : ''}`,
    )
    await this.tick()
    this.timer = setInterval(() => void this.tick(), this.options.intervalMs)
  }

  async stop(): Promise<void> {
    clearInterval(this.timer)
    await this.publisher?.close()
  }

  progress(): string {
    return `platform devices ${this.driven.length} | sent ${this.sent} | failed ${this.failed}`
  }

  private async tick(): Promise<void> {
    const n = ++this.n
    await Promise.all(
      this.driven.map(async (d) => {
        try {
          if (await d.send(n)) this.sent++
          else this.failed++
        } catch (err) {
          this.failed++
          this.options.log(`${d.id}: ${(err as Error).message}`)
        }
      }),
    )
  }
}

/** CTWing and OneNET are answered 200 also for an uplink refused for its device: the body tells. */
async function taken(res: Response): Promise<boolean> {
  if (!res.ok) return false
  const body = (await res.json()) as { status?: string }
  return body.status === 'accepted' || body.status === 'duplicate'
}

/** OneNET's property shape: each value with its time. */
function wrap(values: Record<string, unknown>): Record<string, { value: unknown; time: number }> {
  const time = Date.now()
  return Object.fromEntries(Object.entries(values).map(([k, v]) => [k, { value: v, time }]))
}

/** Run the drive until a signal or `durationMs`; the progress line every 10 s. */
export async function runPlatformDrive(
  options: PlatformDriveOptions & { durationMs?: number | undefined },
): Promise<number> {
  const drive = new PlatformDrive(options)
  await drive.start()
  const progress = setInterval(() => options.log(drive.progress()), 10_000)
  await new Promise<void>((resolve) => {
    process.once('SIGINT', resolve)
    process.once('SIGTERM', resolve)
    if (options.durationMs !== undefined) setTimeout(resolve, options.durationMs).unref()
  })
  clearInterval(progress)
  await drive.stop()
  options.log(`stopped: ${drive.progress()}`)
  return drive.failed === 0 ? 0 : 1
}
