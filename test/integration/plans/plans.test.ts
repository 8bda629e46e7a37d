import { beforeAll, describe, expect, it } from 'vitest'
import { buildHub, DEMO_ESTATE, type TestHub } from '../../helpers/hub.ts'
import { as, login } from '../../helpers/session.ts'

/** Site plans over HTTP, on the demo street (four estates; 天城家园 has a plan image in the estate file). */

let t: TestHub
const token = async (username: string) =>
  ((await (await login(t.httpUrl, username, 'zhian-demo')).json()) as { token: string }).token

/** A 1×1 PNG: signature, IHDR, IDAT, IEND. */
const PNG = Buffer.from(
  '89504e470d0a1a0a0000000d4948445200000001000000010806000000' +
    '1f15c4890000000d49444154789c6360000002000154a24f5d0000000049454e44ae426082',
  'hex',
)

interface Plan {
  estate: { id: string; name: string }
  image: { url: string; source: string }
  devices: { id: string; x: number; y: number; placed: string }[]
  buildings: { id: string; box: { x: number; y: number; w: number; h: number } }[]
}

beforeAll(async () => {
  t = await buildHub({ estateFile: DEMO_ESTATE })
})

describe('site plans', () => {
  it('places devices where the estate file says, and the others inside their building or in rows', async () => {
    const plan = (await (await t.api('/api/plans/hongpu_xincun')).json()) as Plan
    expect(plan.estate.name).toBe('红普新村')
    expect(plan.image.source).toBe('schematic')
    expect(plan.devices.find((d) => d.id === 'hpxc_el_3_1')).toMatchObject({ x: 19, y: 21, placed: 'file' })
    // 前新福苑's devices carry no coordinates: lifts go inside their building's box, the rest below.
    const qx = (await (await t.api('/api/plans/qianxin_fuyuan')).json()) as Plan
    const b1 = qx.buildings.find((b) => b.id === 'qxfy_b1')!.box
    const lift = qx.devices.find((d) => d.id === 'elev_b1_1')!
    expect(lift.placed).toBe('auto')
    expect(lift.x).toBeGreaterThan(b1.x)
    expect(lift.x).toBeLessThan(b1.x + b1.w)
    const spots = new Set(qx.devices.map((d) => `${d.x},${d.y}`))
    expect(spots.size).toBe(qx.devices.length)
  })

  it('serves the estate file’s image, or a generated schematic, under a policy that runs nothing', async () => {
    const file = await t.api('/api/plans/tiancheng_jiayuan/image')
    expect(file.status).toBe(200)
    expect(file.headers.get('content-type')).toBe('image/svg+xml')
    expect(file.headers.get('x-zhian-plan-source')).toBe('file')
    expect(file.headers.get('content-security-policy')).toContain("default-src 'none'")
    expect(await file.text()).toContain('北区停车场')
    const schematic = await t.api('/api/plans/xinfeng_yayuan/image')
    expect(schematic.headers.get('x-zhian-plan-source')).toBe('schematic')
    const svg = await schematic.text()
    expect(svg).toContain('新风雅苑')
    expect(svg).toContain('1幢')
  })

  it('takes an admin’s PNG upload for one estate and serves it back; DELETE returns to the schematic', async () => {
    const put = await t.api('/api/plans/xinfeng_yayuan/image', {
      method: 'PUT',
      headers: { 'content-type': 'image/png' },
      body: PNG,
    })
    expect(put.status).toBe(200)
    expect(((await put.json()) as Plan).image.source).toBe('upload')
    const got = await t.api('/api/plans/xinfeng_yayuan/image')
    expect(got.headers.get('content-type')).toBe('image/png')
    expect(Buffer.from(await got.arrayBuffer()).equals(PNG)).toBe(true)
    // Only that estate's picture changed.
    expect((await t.api('/api/plans/hongpu_xincun/image')).headers.get('x-zhian-plan-source')).toBe(
      'schematic',
    )
    const del = await t.api('/api/plans/xinfeng_yayuan/image', { method: 'DELETE' })
    expect(((await del.json()) as Plan).image.source).toBe('schematic')
  })

  it('refuses uploads with a coded error and keeps the picture it had', async () => {
    const put = (type: string, body: Buffer | string) =>
      t.api('/api/plans/hongpu_xincun/image', {
        method: 'PUT',
        headers: { 'content-type': type },
        body: body as BodyInit,
      })
    const cases: [Response, number, string][] = [
      [
        await put('image/svg+xml', '<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>'),
        422,
        'ZHIAN_ERR_PLAN_UNSAFE',
      ],
      [
        await put('image/svg+xml', '<svg xmlns="http://www.w3.org/2000/svg"><rect onclick="x()"/></svg>'),
        422,
        'ZHIAN_ERR_PLAN_UNSAFE',
      ],
      [
        await put(
          'image/svg+xml',
          '<svg xmlns="http://www.w3.org/2000/svg"><image href="http://evil.example/x.png"/></svg>',
        ),
        422,
        'ZHIAN_ERR_PLAN_UNSAFE',
      ],
      [await put('image/png', '<svg xmlns="http://www.w3.org/2000/svg"></svg>'), 415, 'ZHIAN_ERR_PLAN_TYPE'],
      [await put('image/gif', Buffer.from('GIF89a')), 415, 'ZHIAN_ERR_PLAN_TYPE'],
      [
        await put('image/png', Buffer.concat([PNG, Buffer.alloc(2 * 1024 * 1024)])),
        413,
        'ZHIAN_ERR_PLAN_TOO_LARGE',
      ],
    ]
    for (const [res, status, code] of cases) {
      expect(res.status).toBe(status)
      expect(((await res.json()) as { code: string }).code).toBe(code)
    }
    expect((await t.api('/api/plans/hongpu_xincun/image')).headers.get('x-zhian-plan-source')).toBe(
      'schematic',
    )
  })

  it('lets only admins upload, and answers an estate outside the caller’s scope as unknown', async () => {
    const officer = as(t.httpUrl, await token('jiedao'))
    const manager = as(t.httpUrl, await token('wuye'))
    const upload = { method: 'PUT', headers: { 'content-type': 'image/png' }, body: PNG }
    const refused = await officer('/api/plans/hongpu_xincun/image', upload)
    expect(refused.status).toBe(403)
    expect(((await refused.json()) as { code: string }).code).toBe('ZHIAN_ERR_FORBIDDEN')
    // The street officer reads every estate of the street; the manager only his own.
    expect((await officer('/api/plans/tiancheng_jiayuan')).status).toBe(200)
    expect((await manager('/api/plans/qianxin_fuyuan')).status).toBe(200)
    const other = await manager('/api/plans/tiancheng_jiayuan')
    const none = await manager('/api/plans/no_such_estate')
    expect([other.status, ((await other.json()) as { code: string }).code]).toEqual([
      none.status,
      ((await none.json()) as { code: string }).code,
    ])
    expect((await manager('/api/plans/tiancheng_jiayuan/image')).status).toBe(400)
  })
})
