import { randomUUID } from 'node:crypto'
import mqtt, { type MqttClient } from 'mqtt'

/**
 * A ChirpStack v4-shaped network server for simulators and tests: publishes the JSON integration's
 * events (chirpstack-docs integrations/events.md) on `application/{application_id}/device/{dev_eui}/
 * event/{event}` at QoS 1 into a broker (a separate local Mosquitto), as ChirpStack's MQTT
 * integration would with `qos=1` and `json=true`. Written from the documented format, not captured
 * from ChirpStack.
 */

export interface LoraDevice {
  devEui: string
  name: string
  devAddr: string
}

export function chirpstackUp(
  applicationId: string,
  device: LoraDevice,
  frame: { bytes: Buffer; fPort: number },
  fCnt: number,
  time = new Date(),
): Record<string, unknown> {
  return {
    deduplicationId: randomUUID(),
    time: time.toISOString(),
    deviceInfo: {
      tenantId: '52f14cd4-c6f1-4fbd-8f87-4025e1d49242',
      tenantName: 'ChirpStack',
      applicationId,
      applicationName: 'zhian',
      deviceProfileId: '14855bf7-d10d-4aee-b618-ebfcb64dc7ad',
      deviceProfileName: 'simulated',
      deviceName: device.name,
      devEui: device.devEui,
      tags: {},
    },
    devAddr: device.devAddr,
    adr: true,
    dr: 5,
    fCnt,
    fPort: frame.fPort,
    confirmed: false,
    data: frame.bytes.toString('base64'),
    rxInfo: [{ gatewayId: '0016c001f153a14c', uplinkId: 4217, rssi: -57, snr: 9.2, context: 'AAAAAA==' }],
    txInfo: {
      frequency: 470_300_000,
      modulation: { lora: { bandwidth: 125_000, spreadingFactor: 7, codeRate: 'CR_4_5' } },
    },
  }
}

export function chirpstackStatus(
  applicationId: string,
  device: LoraDevice,
  batteryLevel: number,
): Record<string, unknown> {
  return {
    deduplicationId: randomUUID(),
    time: new Date().toISOString(),
    deviceInfo: { applicationId, deviceName: device.name, devEui: device.devEui },
    margin: 7,
    externalPowerSource: false,
    batteryLevelUnavailable: false,
    batteryLevel,
  }
}

export function chirpstackTopic(
  applicationId: string,
  devEui: string,
  event: 'up' | 'status' | 'join',
): string {
  return `application/${applicationId}/device/${devEui}/event/${event}`
}

/** The network server's side of the broker: publishes events at QoS 1 and waits for each PUBACK. */
export class ChirpStackPublisher {
  private constructor(
    private readonly client: MqttClient,
    readonly applicationId: string,
  ) {}

  static async connect(
    url: string,
    applicationId: string,
    auth: { username?: string; password?: string; ca?: Buffer } = {},
  ): Promise<ChirpStackPublisher> {
    const client = await mqtt.connectAsync(url, {
      clientId: `chirpstack-sim-${randomUUID().slice(0, 8)}`,
      protocolVersion: 4,
      reconnectPeriod: 1000,
      ...auth,
    })
    return new ChirpStackPublisher(client, applicationId)
  }

  async publish(devEui: string, event: 'up' | 'status' | 'join', body: unknown): Promise<void> {
    await this.client.publishAsync(chirpstackTopic(this.applicationId, devEui, event), JSON.stringify(body), {
      qos: 1,
    })
  }

  /** Publish JSON on any topic of the broker (another network server's shape, e.g. The Things Stack's). */
  async publishTopic(topic: string, body: unknown): Promise<void> {
    await this.client.publishAsync(topic, JSON.stringify(body), { qos: 1 })
  }

  /** Publish a raw payload (a garbled event for the tests). */
  async publishRaw(devEui: string, event: 'up' | 'status' | 'join', payload: string | Buffer): Promise<void> {
    await this.client.publishAsync(chirpstackTopic(this.applicationId, devEui, event), payload, { qos: 1 })
  }

  async close(): Promise<void> {
    await this.client.endAsync()
  }
}
