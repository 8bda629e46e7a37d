import fs from 'node:fs'
import path from 'node:path'
import { type Browser, type BrowserContext, chromium, type Page } from 'playwright-core'
import { WEB_DIST } from '../../src/web/serve.ts'

/** Debian's chromium driven by playwright-core (no browser download is possible here). */
export const CHROMIUM = '/usr/bin/chromium'
export const ARTIFACTS = path.resolve(import.meta.dirname, '../../test-artifacts')

export async function launch(): Promise<Browser> {
  if (!fs.existsSync(CHROMIUM))
    throw new Error(`${CHROMIUM} missing: apt-get install chromium (.ci/run does)`)
  if (!fs.existsSync(path.join(WEB_DIST, 'index.html')))
    throw new Error('dist/web is not built: npm run build:web (npm install runs it)')
  fs.mkdirSync(ARTIFACTS, { recursive: true })
  return chromium.launch({
    executablePath: CHROMIUM,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-background-networking',
      '--disable-quic',
      '--no-first-run',
      '--disable-component-update',
      '--disable-sync',
    ],
  })
}

/** A separate browser session (own cookies), zh-CN like the people on duty. */
export async function session(
  browser: Browser,
  viewport = { width: 1920, height: 1080 },
): Promise<{ context: BrowserContext; page: Page }> {
  const context = await browser.newContext({ viewport, locale: 'zh-CN', acceptDownloads: true })
  const page = await context.newPage()
  page.on('pageerror', (err) => console.error('page error:', err.message))
  return { context, page }
}

export async function logIn(page: Page, url: string, username: string, password: string): Promise<void> {
  await page.goto(url)
  await page.fill('input[name=username]', username)
  await page.fill('input[name=password]', password)
  await page.click('[data-test=login]')
  await page.waitForSelector('[data-test=connection].up')
}

export async function shot(page: Page, name: string): Promise<string> {
  const file = path.join(ARTIFACTS, `${name}.png`)
  await page.screenshot({ path: file })
  return file
}
