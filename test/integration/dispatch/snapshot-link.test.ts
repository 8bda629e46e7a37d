import fs from 'node:fs'
import { describe, expect, it } from 'vitest'
import { buildHub, connectDevice, until } from '../../helpers/hub.ts'
import { estateFor, Receiver } from './receiver.ts'

const SNAP = 'https://nvr.example/snapshots/cam1/0007.jpg'

/**
 * A camera's detection reaches the person on duty with its snapshot link: the high-altitude throw a
 * façade camera saw is routed to property duty, and the SMS the duty member gets carries the link.
 */
describe('a detection’s snapshot in the notification', () => {
  it('the duty member’s SMS for a high-altitude throw names the camera and the floor and carries the snapshot link', async () => {
    const rx = await new Receiver().start()
    const file = estateFor(rx)
    // The dispatch fixture plus one façade camera on building 1 of e1.
    fs.writeFileSync(
      file,
      fs
        .readFileSync(file, 'utf8')
        .replace(
          /\ndevices:\n/,
          '\ndevices:\n  - { id: cam1, kind: ai_camera, estate: e1, building: e1_b1, name: 1号楼外立面摄像机, secret: demo-secret-cam1 }\n',
        ),
    )
    const h = await buildHub({ estateFile: file })
    const cam = await connectDevice(h.mqttUrl, 'cam1')
    await cam.publishAsync(
      'zhian/ai_camera/cam1/event',
      JSON.stringify({ type: 'high_altitude_throw', data: { floor: 12, snapshot_url: SNAP } }),
      { qos: 1 },
    )
    const [sms] = await until(() => (rx.to('/sms').length ? rx.to('/sms') : undefined), 'sms to duty1', 8000)
    const content = (sms!.json as { content: string }).content
    expect(content).toContain('1号楼外立面摄像机 发现高空抛物(约 12 层)')
    expect(content).toContain(SNAP)
  })
})
