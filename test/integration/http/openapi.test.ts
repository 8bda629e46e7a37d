import { beforeAll, describe, expect, it } from 'vitest'
import type { z } from 'zod'
import {
  ALERT,
  ALERT_DETAIL,
  ALERT_PAGE,
  WORK_ORDER_DETAIL,
  WORK_ORDER_PAGE,
} from '../../../src/http/answers.ts'
import { buildHub, connectDevice, type TestHub, until } from '../../helpers/hub.ts'
import { DASHBOARD_ESTATE, tokenOf } from '../../helpers/session.ts'

/**
 * The OpenAPI document is generated from the routes the hub registers, so it cannot fall behind
 * them: every route fastify knows (its own route table, not the generator's) is in the document with
 * a summary, the schemas it parses and who may call it, and the document is well-formed OpenAPI 3.
 * Only unscoped admins read it.
 */

interface Operation {
  summary?: string
  tags?: string[]
  parameters?: { in: string; name: string; required?: boolean; schema?: unknown }[]
  requestBody?: { content: Record<string, { schema: unknown }> }
  responses?: Record<string, { description?: string }>
  security?: Record<string, string[]>[]
}
interface Document {
  openapi: string
  info: { title: string; version: string }
  paths: Record<string, Record<string, Operation>>
  components: { securitySchemes: Record<string, unknown> }
}

const HTTP_METHODS = ['get', 'put', 'post', 'delete', 'options', 'head', 'patch', 'trace']

/** fastify's route table (printRoutes), as "METHOD /path/{param}" for the API's routes. */
function registeredRoutes(tree: string): string[] {
  const out: string[] = []
  const stack: string[] = []
  for (const line of tree.split('\n')) {
    const m = /^([│ ]*)[├└]── (\S+)(?: \(([A-Z, ]+)\))?/.exec(line)
    if (!m) continue
    const depth = m[1]!.length / 4
    const full = (stack[depth - 1] ?? '') + m[2]!
    stack[depth] = full
    stack.length = depth + 1
    for (const method of (m[3] ?? '').split(',').map((x) => x.trim()))
      if (method && method !== 'HEAD') out.push(`${method} ${full.replace(/:(\w+)/g, '{$1}')}`)
  }
  return out.filter((r) => /^[A-Z]+ \/(api\/|ingest\/|healthz$|metrics$)/.test(r))
}

describe('OpenAPI description of the HTTP API', () => {
  let hub: TestHub
  let doc: Document
  beforeAll(async () => {
    hub = await buildHub({ estateFile: DASHBOARD_ESTATE })
    const res = await hub.api('/api/docs/json')
    expect(res.status).toBe(200)
    doc = (await res.json()) as Document
  }, 60_000)

  const operations = () =>
    Object.entries(doc.paths).flatMap(([path, ops]) =>
      Object.entries(ops)
        .filter(([method]) => HTTP_METHODS.includes(method))
        .map(([method, op]) => ({ key: `${method.toUpperCase()} ${path}`, path, method, op })),
    )

  it('every route the hub registers is in the document, and nothing else', () => {
    const routes = registeredRoutes(hub.hub.http.printRoutes({ commonPrefix: false }))
    // The route table parsed as expected: the API is dozens of routes, work orders among them.
    expect(routes.length).toBeGreaterThan(40)
    expect(routes).toContain('POST /api/work-orders/{id}/accept')
    expect(
      operations()
        .map((o) => o.key)
        .sort(),
    ).toEqual([...new Set(routes)].sort())
  })

  it('is OpenAPI 3 in form: version, info, parameters matching the path, responses described, known security schemes', () => {
    expect(doc.openapi).toMatch(/^3\.\d+\.\d+$/)
    expect(doc.info.title).toContain('zhian')
    expect(doc.info.version).toMatch(/^\d+\.\d+\.\d+/)
    const schemes = Object.keys(doc.components.securitySchemes)
    expect(schemes.sort()).toEqual(['bearer', 'session'])
    for (const { key, path, op } of operations()) {
      expect(path, key).toMatch(/^\//)
      const inPath = [...path.matchAll(/\{(\w+)\}/g)].map((m) => m[1])
      const pathParams = (op.parameters ?? []).filter((p) => p.in === 'path')
      expect(pathParams.map((p) => p.name).sort(), `${key}: path parameters`).toEqual(inPath.sort())
      for (const p of op.parameters ?? []) {
        expect(['path', 'query', 'header', 'cookie'], key).toContain(p.in)
        if (p.in === 'path') expect(p.required, `${key} ${p.name}`).toBe(true)
        expect(p.schema, `${key} ${p.name}`).toBeTypeOf('object')
      }
      expect(Object.keys(op.responses ?? {}), key).toEqual(expect.arrayContaining(['4XX']))
      expect(
        Object.keys(op.responses ?? {}).some((code) => code.startsWith('2')),
        key,
      ).toBe(true)
      for (const [code, r] of Object.entries(op.responses ?? {})) {
        expect(code, key).toMatch(/^([1-5]\d\d|[1-5]XX|default)$/)
        expect(r.description, `${key} ${code}`).toBeTruthy()
      }
      for (const requirement of op.security ?? [])
        for (const name of Object.keys(requirement)) expect(schemes, key).toContain(name)
    }
    expect(JSON.stringify(doc)).not.toContain('"$ref"')
  })

  it('every operation says what it does, in Chinese and English, and who may call it', () => {
    for (const { key, path, op } of operations()) {
      expect(op.summary, key).toMatch(/\S+ \/ \S+/)
      expect(op.tags?.length ?? 0, key).toBeGreaterThan(0)
      const open = path === '/api/auth/login' || !path.startsWith('/api/')
      expect(op.security, key).toEqual(open ? [] : [{ bearer: [] }, { session: [] }])
    }
  })

  it('the schemas a route parses are in the document: query, path and body from its zod schema', () => {
    const op = (key: string) => operations().find((o) => o.key === key)!.op
    const list = op('GET /api/work-orders')
    expect(list.parameters!.filter((p) => p.in === 'query').map((p) => p.name)).toEqual([
      'status',
      'team',
      'site',
      'alert',
      'mine',
      'limit',
      'offset',
    ])
    const silence = op('POST /api/silences').requestBody!.content['application/json']!.schema as {
      required: string[]
      properties: Record<string, unknown>
      additionalProperties: boolean
    }
    expect(silence.required).toEqual(['reason'])
    expect(Object.keys(silence.properties)).toEqual(
      expect.arrayContaining(['device', 'site', 'types', 'until']),
    )
    expect(silence.additionalProperties).toBe(false)
    // Every write that takes a body documents it.
    for (const { key, method, op: o } of operations())
      if (['post', 'put', 'patch'].includes(method) && key !== 'POST /api/auth/logout')
        expect(o.requestBody, key).toBeDefined()
  })

  it('the page at /api/docs lists every operation, with no script (the CSP holds)', async () => {
    const res = await hub.api('/api/docs')
    expect(res.status).toBe(200)
    expect(res.headers.get('content-type')).toMatch(/^text\/html/)
    expect(res.headers.get('content-security-policy')).toContain("script-src 'self'")
    const html = await res.text()
    expect(html).not.toMatch(/<script/i)
    for (const { path, op } of operations()) {
      expect(html).toContain(`<code>${path}</code>`)
      expect(html).toContain(op.summary!.replaceAll('&', '&amp;').replaceAll("'", '&#39;'))
    }
  })

  it('only unscoped admins: no credentials 401, a manager or a viewer 403, an admin of one street 403', async () => {
    for (const path of ['/api/docs/json', '/api/docs']) {
      expect((await fetch(`${hub.httpUrl}${path}`)).status).toBe(401)
      for (const user of ['mgr_e1', 'viewer_e1', 'street_admin'] as const) {
        const token = await tokenOf(hub.httpUrl, user)
        const res = await fetch(`${hub.httpUrl}${path}`, { headers: { authorization: `Bearer ${token}` } })
        expect(res.status, `${user} ${path}`).toBe(403)
        expect(((await res.json()) as { code: string }).code).toBe('ZHIAN_ERR_FORBIDDEN')
      }
    }
  })

  it('the documented answers are what the routes answer: alerts and work orders parsed with their strict schemas', async () => {
    const manhole = await connectDevice(hub.mqttUrl, 'mh1')
    await manhole.publishAsync(
      'zhian/manhole/mh1/state',
      JSON.stringify({ cover_open: true, tilt_deg: 40 }),
      {
        qos: 1,
      },
    )
    const get = async <T extends z.ZodType>(path: string, schema: T, init?: RequestInit) => {
      const res = await hub.api(path, init)
      expect(res.status, path).toBeLessThan(300)
      const parsed = schema.safeParse(await res.json())
      expect(parsed.error?.issues ?? [], path).toEqual([])
      return parsed.data as z.output<T>
    }
    const page = await until(async () => {
      const p = await get('/api/alerts', ALERT_PAGE)
      return p.items.length ? p : undefined
    }, 'the alert')
    const alert = page.items[0]!
    await get(`/api/alerts/${alert.id}`, ALERT_DETAIL)
    const orders = await until(async () => {
      const p = await get('/api/work-orders', WORK_ORDER_PAGE)
      return p.items.length ? p : undefined
    }, 'its work order')
    await get(`/api/work-orders/${orders.items[0]!.id}`, WORK_ORDER_DETAIL)
    await get(`/api/alerts/${alert.id}/ack`, ALERT, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{}',
    })
    // And the document carries those shapes, generated from the same schemas.
    const listAnswer = doc.paths['/api/alerts']!.get!.responses!['200'] as unknown as {
      content: Record<string, { schema: { properties: Record<string, unknown> } }>
    }
    expect(Object.keys(listAnswer.content['application/json']!.schema.properties)).toEqual([
      'items',
      'total',
      'limit',
      'offset',
    ])
    await manhole.endAsync()
  })

  it('a route schema is documentation: the route still answers its own coded error for a bad query', async () => {
    const res = await hub.api('/api/work-orders?status=bogus')
    expect(res.status).toBe(400)
    expect(((await res.json()) as { code: string }).code).toBe('ZHIAN_ERR_VALIDATION')
  })
})
