/**
 * Where the browser tests find Chromium, in one place: `CHROMIUM_PATH` when set, else Debian's
 * /usr/bin/chromium. Missing, the tests fail with what to install; they are never skipped.
 */

import assert from 'node:assert/strict'
import { existsSync } from 'node:fs'
import { chromium, type Browser, type Page } from 'playwright-core'

const DEBIAN_CHROMIUM = '/usr/bin/chromium'

/**
 * A host name Chromium resolves to 127.0.0.1 without treating it as a secure context (as it does
 * localhost and 127.0.0.0/8); so do its subdomains (`app.keycard.test`, `api.keycard.test`).
 */
export const PLAIN_HTTP_HOST = 'keycard.test'

const ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  `--host-resolver-rules=MAP ${PLAIN_HTTP_HOST} 127.0.0.1, MAP *.${PLAIN_HTTP_HOST} 127.0.0.1`,
]

/**
 * The Chromium binary to drive: `CHROMIUM_PATH`, or Debian's. Fails, naming both, when it is not there.
 *
 * @example
 * ```ts
 * const browser = await chromium.launch({ executablePath: chromiumPath() })
 * ```
 */
export function chromiumPath(env: NodeJS.ProcessEnv = process.env): string {
  const path = env.CHROMIUM_PATH || DEBIAN_CHROMIUM
  assert.ok(
    existsSync(path),
    env.CHROMIUM_PATH
      ? `CHROMIUM_PATH=${env.CHROMIUM_PATH} does not exist: point it at a Chromium or Chrome binary, or unset it to use ${DEBIAN_CHROMIUM}`
      : `${DEBIAN_CHROMIUM} is missing: install Chromium (Debian: apt-get install chromium; .ci/run installs it), or set CHROMIUM_PATH to a Chromium or Chrome binary`,
  )
  return path
}

/**
 * Headless Chromium for the browser tests, closed when the test ends.
 *
 * @example
 * ```ts
 * const browser = await launchChromium(t)
 * ```
 */
export async function launchChromium(t: { after(fn: () => Promise<void>): void }): Promise<Browser> {
  const browser = await chromium.launch({ executablePath: chromiumPath(), args: ARGS })
  t.after(() => browser.close())
  return browser
}

/**
 * Collects the page's errors and console errors, except the browser's own note on each error status
 * (400, 401, …) the page is made to answer on purpose; a test asserts the list stays empty.
 *
 * @example
 * const pageErrors = collectPageErrors(page)
 * // … drive the page …
 * assert.deepEqual(pageErrors, [])
 */
export function collectPageErrors(page: Page): string[] {
  const errors: string[] = []
  page.on('pageerror', (err) => errors.push(err.message))
  page.on('console', (msg) => {
    if (msg.type() === 'error' && !/^Failed to load resource: the server responded with a status of 4\d\d/.test(msg.text()))
      errors.push(msg.text())
  })
  return errors
}
