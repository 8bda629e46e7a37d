import { describe, expect, it } from 'vitest'
import { ConnectionLimits } from '../../../src/broker/connection-limits.ts'
import { configFromEnv } from '../../../src/config/env.ts'

describe('ConnectionLimits', () => {
  it('counts open and pending connections per address, each slot released once', () => {
    const limits = new ConnectionLimits({ maxConnectionsPerAddress: 2, maxPendingPerAddress: 1, exempt: [] })
    const a = limits.open('10.0.0.1')
    expect(typeof a).toBe('object')
    expect(limits.open('::ffff:10.0.0.1')).toBe('address_pending_limit') // the same IPv4 peer
    if (typeof a === 'string') throw new Error('unreachable')
    a.connected()
    a.connected()
    const b = limits.open('10.0.0.1')
    expect(limits.open('10.0.0.1')).toBe('address_connection_limit')
    expect(typeof limits.open('10.0.0.2')).toBe('object')
    a.closed()
    a.closed()
    if (typeof b === 'string') throw new Error('unreachable')
    b.closed() // closed while pending
    expect(typeof limits.open('10.0.0.1')).toBe('object')
  })

  it('skips exempt addresses and, with `loopback`, all of 127.0.0.0/8 and ::1; 0 means no cap', () => {
    const limits = new ConnectionLimits({
      maxConnectionsPerAddress: 1,
      maxPendingPerAddress: 1,
      exempt: ['loopback', '10.9.9.9'],
    })
    for (const address of ['127.0.0.1', '127.0.0.2', '::1', '::ffff:127.0.0.1', '10.9.9.9', '10.9.9.9'])
      expect(typeof limits.open(address), address).toBe('object')
    const none = new ConnectionLimits({ maxConnectionsPerAddress: 0, maxPendingPerAddress: 0, exempt: [] })
    for (let i = 0; i < 100; i++) expect(typeof none.open('10.0.0.1')).toBe('object')
  })
})

describe('MQTT limits from the environment', () => {
  it('defaults to 1000 connections and 50 pending per address, 10 s to CONNECT, loopback exempt', () => {
    expect(configFromEnv({}).mqtt.limits).toEqual({
      maxConnectionsPerAddress: 1000,
      maxPendingPerAddress: 50,
      connectTimeoutMs: 10_000,
      exempt: ['loopback'],
    })
  })

  it('reads the variables, an empty exemption list included, and refuses a negative cap with a coded error', () => {
    const env = {
      ZHIAN_MQTT_MAX_CONN_PER_IP: '0',
      ZHIAN_MQTT_MAX_PENDING_PER_IP: '5',
      ZHIAN_MQTT_CONNECT_TIMEOUT_MS: '2500',
      ZHIAN_MQTT_LIMIT_EXEMPT: ' 10.0.0.5 , ',
    }
    expect(configFromEnv(env).mqtt.limits).toEqual({
      maxConnectionsPerAddress: 0,
      maxPendingPerAddress: 5,
      connectTimeoutMs: 2500,
      exempt: ['10.0.0.5'],
    })
    expect(configFromEnv({ ZHIAN_MQTT_LIMIT_EXEMPT: '' }).mqtt.limits?.exempt).toEqual([])
    expect(() => configFromEnv({ ZHIAN_MQTT_MAX_CONN_PER_IP: '-1' })).toThrow(/ZHIAN_MQTT_MAX_CONN_PER_IP/)
  })
})
