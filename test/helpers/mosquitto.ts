import { type ChildProcess, execFileSync, spawn } from 'node:child_process'
import fs from 'node:fs'
import net from 'node:net'
import os from 'node:os'
import path from 'node:path'
import { afterAll } from 'vitest'
import { freePort, stopProcess } from './influxd.ts'

/**
 * A real Mosquitto (Debian's /usr/sbin/mosquitto) as a LoRaWAN network server's broker: started
 * privately on a free loopback port with its own config in a temp dir, stopped after the file. When
 * mosquitto is missing this throws: the test fails, it never skips (.ci/run installs `mosquitto`).
 */

export const MOSQUITTO = process.env.ZHIAN_TEST_MOSQUITTO ?? '/usr/sbin/mosquitto'
const MOSQUITTO_PASSWD = '/usr/bin/mosquitto_passwd'

export interface TestMosquitto {
  url: string
  port: number
  dir: string
  /** Username and password every client must give (anonymous clients are refused). */
  username: string
  password: string
  stop: () => Promise<void>
  /** The PEM file of its self-signed certificate, with `tls`. */
  ca?: string
  /** Start it again on the same port (without the sessions: `persistence false`). */
  start: () => Promise<void>
}

const running = new Set<ChildProcess>()
afterAll(async () => {
  await Promise.all([...running].map((p) => stopProcess(p)))
  running.clear()
})

/**
 * `tls`: the listener speaks MQTT over TLS with a certificate for 127.0.0.1 signed by nobody
 * (self-signed, made with openssl here); its PEM is `ca` for the clients to trust.
 */
export async function startMosquitto(options: { tls?: boolean } = {}): Promise<TestMosquitto> {
  for (const bin of [MOSQUITTO, MOSQUITTO_PASSWD]) {
    if (!fs.existsSync(bin)) throw new Error(`${bin} not found: install the Debian package "mosquitto"`)
  }
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'zhian-mosquitto-'))
  const port = await freePort()
  const username = 'chirpstack'
  const password = 'ns-broker-password-01'
  // A network server's broker asks for credentials: a password file, hashed in place by mosquitto_passwd.
  const passwd = path.join(dir, 'passwd')
  fs.writeFileSync(passwd, `${username}:${password}\n`, { mode: 0o600 })
  execFileSync(MOSQUITTO_PASSWD, ['-U', passwd], { stdio: 'ignore' })
  const ca = path.join(dir, 'cert.pem')
  const keyFile = path.join(dir, 'key.pem')
  if (options.tls) {
    execFileSync(
      'openssl',
      [
        ...['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '1', '-subj', '/CN=127.0.0.1'],
        ...['-addext', 'subjectAltName=IP:127.0.0.1', '-keyout', keyFile, '-out', ca],
      ],
      { stdio: 'ignore' },
    )
  }
  const conf = path.join(dir, 'mosquitto.conf')
  fs.writeFileSync(
    conf,
    [
      `listener ${port} 127.0.0.1`,
      // Started as root, mosquitto would switch to the `mosquitto` user, who cannot read this temp dir.
      ...(process.getuid?.() === 0 ? ['user root'] : []),
      ...(options.tls ? [`certfile ${ca}`, `keyfile ${keyFile}`] : []),
      `password_file ${passwd}`,
      'allow_anonymous false',
      // Sessions of clients with clean session 0 live in memory for as long as this broker runs.
      'persistence false',
      'max_queued_messages 100000',
      'max_inflight_messages 100',
      `log_dest file ${path.join(dir, 'mosquitto.log')}`,
      'log_type error',
      'log_type warning',
      '',
    ].join('\n'),
  )
  let proc: ChildProcess | undefined
  const start = async () => {
    const p = spawn(MOSQUITTO, ['-c', conf], { stdio: ['ignore', 'ignore', 'pipe'] })
    proc = p
    let stderr = ''
    p.stderr?.on('data', (d: Buffer) => {
      stderr += d.toString()
    })
    running.add(p)
    const end = Date.now() + 15_000
    while (!(await listening(port))) {
      if (p.exitCode !== null) throw new Error(`mosquitto exited (${p.exitCode}): ${stderr.slice(-2000)}`)
      if (Date.now() > end) throw new Error('mosquitto did not listen within 15 s')
      await new Promise((r) => setTimeout(r, 50))
    }
  }
  await start()
  return {
    url: `${options.tls ? 'mqtts' : 'mqtt'}://127.0.0.1:${port}`,
    ...(options.tls ? { ca } : {}),
    port,
    dir,
    username,
    password,
    stop: async () => {
      if (!proc) return
      const p = proc
      proc = undefined
      running.delete(p)
      await stopProcess(p)
    },
    start,
  }
}

function listening(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect(port, '127.0.0.1')
    socket.once('connect', () => {
      socket.destroy()
      resolve(true)
    })
    socket.once('error', () => resolve(false))
  })
}
