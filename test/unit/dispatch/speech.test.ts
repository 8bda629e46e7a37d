import { describe, expect, it } from 'vitest'
import { KINDS } from '../../../devices/index.ts'
import { unspeakable } from '../../../src/dispatch/dispatcher.ts'
import { render } from '../../../src/rules/template.ts'

const SNAP = 'https://nvr.example/snapshots/cam1/0007.jpg?t=1'

/** Every alert text of every kind that can carry a snapshot link, as the alert store renders it. */
function textsWithLink(): { alert: string; text: string }[] {
  const out: { alert: string; text: string }[] = []
  for (const [kind, def] of Object.entries(KINDS)) {
    for (const [type, a] of Object.entries(def.alerts)) {
      if (!a.message.zh.includes('{snapshot_url}')) continue
      const values: Record<string, unknown> = {
        name: '1号楼外立面摄像机',
        snapshot_url: SNAP,
        floor: 12,
        plate: '浙A12345',
      }
      out.push({ alert: `${kind}.${type}`, text: render(a.message.zh, 'zh', (k) => values[k] ?? 3) })
    }
  }
  return out
}

describe('what a voice call says about a detection with a snapshot', () => {
  it('the spoken sentence leaves out the link and its label but keeps the rest of the alert', () => {
    const texts = textsWithLink()
    // The camera's throw, parking and smoke texts, and the e-bike on the lift.
    expect(texts.length).toBeGreaterThanOrEqual(4)
    for (const { alert, text } of texts) {
      expect(text, alert).toContain(SNAP)
      const said = unspeakable(text)
      expect(said, alert).not.toMatch(/https?:|抓拍|\(\s*\)|\uFF08\s*\uFF09/)
      expect(said.length, alert).toBeGreaterThan(6)
      expect(said.startsWith('1号楼外立面摄像机') || said.includes('电动车'), alert).toBe(true)
    }
    expect(unspeakable(`1号楼外立面摄像机 发现高空抛物\uFF08约 12 层\uFF09\uFF0C抓拍\uFF1A${SNAP}`)).toBe(
      '1号楼外立面摄像机 发现高空抛物\uFF08约 12 层\uFF09',
    )
    expect(unspeakable(`1号梯 轿厢内发现电动车\uFF0C请劝离\uFF08抓拍\uFF1A${SNAP}\uFF09`)).toBe(
      '1号梯 轿厢内发现电动车\uFF0C请劝离',
    )
  })
})
