import { execFile } from 'node:child_process'
import path from 'node:path'
import { promisify } from 'node:util'
import { describe, expect, it } from 'vitest'
import { parse } from 'yaml'

/** docker-compose.yml validated by Debian's docker-compose (installed by .ci/run; missing = failure). */

const run = promisify(execFile)
const ROOT = path.resolve(import.meta.dirname, '../../..')

interface Service {
  image?: string
  build?: unknown
  environment?: Record<string, string>
  volumes?: (string | { source?: string; target: string })[]
  healthcheck?: { test: string[] | string }
  depends_on?: Record<string, { condition: string }>
}

describe('docker-compose.yml', () => {
  it('passes `docker-compose config -q`', async () => {
    const { stderr } = await run('docker-compose', ['-f', 'docker-compose.yml', 'config', '-q'], {
      cwd: ROOT,
    })
    expect(stderr).toBe('')
  })

  it('wires the hub to InfluxDB 1.8 (v1 API) and Grafana to the provisioned dashboards, with volumes and healthchecks', async () => {
    const { stdout } = await run('docker-compose', ['-f', 'docker-compose.yml', 'config'], {
      cwd: ROOT,
      env: { PATH: process.env.PATH ?? '' },
    })
    const config = parse(stdout) as { services: Record<string, Service>; volumes: Record<string, unknown> }
    const { hub, influxdb, grafana } = config.services
    expect(hub?.build).toBeDefined()
    expect(influxdb?.image).toBe('influxdb:1.8')
    expect(hub?.environment).toMatchObject({
      ZHIAN_INFLUX_URL: 'http://influxdb:8086',
      ZHIAN_INFLUX_API: 'v1',
    })
    expect(hub?.depends_on?.influxdb?.condition).toBe('service_healthy')
    for (const service of [hub, influxdb, grafana]) expect(service?.healthcheck?.test).toBeDefined()
    expect(Object.keys(config.volumes).sort()).toEqual(['grafana-data', 'hub-data', 'influxdb-data'])
    const targets = (grafana?.volumes ?? []).map((v) => (typeof v === 'string' ? v.split(':')[1] : v.target))
    expect(targets).toEqual(
      expect.arrayContaining([
        '/etc/grafana/provisioning',
        '/var/lib/grafana/dashboards/zhian',
        '/var/lib/grafana',
      ]),
    )
    expect(grafana?.environment?.ZHIAN_GRAFANA_INFLUX_URL).toBe('http://influxdb:8086')
  })
})
