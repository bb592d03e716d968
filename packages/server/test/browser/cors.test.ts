/**
 * The account page served from another origin than the server's, in headless Chromium. A tiny second
 * HTTP server (port 0) serves the built page with its `keycard-api` meta tag naming the Keycard server
 * at http://localhost:<api port>; the page is opened from these origins:
 *
 * - http://localhost:<listed port>, in CORS_ORIGINS: cookie mode works (sign-in, authenticated GETs,
 *   the CSRF-checked sign-out), and a write without the CSRF header is still refused;
 * - http://localhost:<unlisted port>: same-site (cookies ignore ports) but not listed; the page says
 *   the server does not accept its origin, and no sign-in reaches the server (the preflight gets 403);
 * - http://keycard.test:<port>, listed, but another host: the server signs in, and the page says why
 *   it cannot use the cookies;
 * - http://app.keycard.test:<port>, listed, against a server at http://api.keycard.test:<port> with
 *   COOKIE_DOMAIN=keycard.test: a sibling host shares the cookies, and cookie mode works.
 *
 * Needs Chromium (chromium.ts). The page is built into a temp dir of its own, so this file does not
 * race the other browser tests' builds of web/dist.
 */

import assert from 'node:assert/strict'
import { mkdirSync } from 'node:fs'
import { readFile } from 'node:fs/promises'
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { extname, join } from 'node:path'
import { test } from 'node:test'
import { fileURLToPath } from 'node:url'
import type { Browser, Page } from 'playwright-core'
import { build } from 'vite'
import { PASSWORD, startServer, tempDir } from '../helpers.ts'
import { collectPageErrors, launchChromium, PLAIN_HTTP_HOST } from './chromium.ts'

const ARTIFACTS = fileURLToPath(new URL('../../../../test-artifacts/browser/', import.meta.url))
const WEB_CONFIG = fileURLToPath(new URL('../../web/vite.config.ts', import.meta.url))
const TYPES: Record<string, string> = { '.html': 'text/html; charset=utf-8', '.js': 'text/javascript', '.css': 'text/css' }
/** Chromium's console line for a call the CORS check blocked (and the failed load that follows it). */
const CORS_BLOCKED = /blocked by CORS policy|Failed to load resource: net::ERR_FAILED/

const heading = (page: Page, name: string) => page.getByRole('heading', { level: 1, name })

/** Listens on 127.0.0.1, port 0; closed when the test ends. */
async function listen(t: { after(fn: () => Promise<void>): void }, server: Server): Promise<number> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  t.after(() => new Promise<void>((resolve) => server.close(() => resolve())))
  return (server.address() as AddressInfo).port
}

/**
 * The static host of the page: `dir`'s index.html with the API's URL in its meta tag, and its assets;
 * a CSP that lets the page connect to the API only. `api()` is read per request (the API starts later).
 */
function pageHost(dir: string, api: () => string): Server {
  return createServer((req, res) => {
    const path = new URL(req.url ?? '/', 'http://x').pathname
    const file = path === '/' ? 'index.html' : path.startsWith('/assets/') && !path.includes('..') ? path.slice(1) : undefined
    if (!file) {
      res.writeHead(404).end()
      return
    }
    readFile(join(dir, file)).then(
      (body) => {
        const text =
          file === 'index.html'
            ? body.toString().replace('<meta name="keycard-api" content="" />', `<meta name="keycard-api" content="${api()}" />`)
            : body
        res.writeHead(200, {
          'content-type': TYPES[extname(file)] ?? 'application/octet-stream',
          'content-security-policy': `default-src 'self'; connect-src ${api()}; img-src 'self' data:; object-src 'none'`,
        })
        res.end(text)
      },
      () => res.writeHead(404).end(),
    )
  })
}

async function signIn(page: Page, username: string): Promise<void> {
  await page.getByLabel('Username or email').fill(username)
  await page.getByLabel('Password', { exact: true }).fill(PASSWORD)
  await page.getByRole('button', { name: 'Sign in' }).click()
}

/**
 * From the page at `pageOrigin`, against the server at `apiUrl`: sign in (cookie mode), the profile
 * and the sessions (authenticated GETs), a write without X-CSRF-TOKEN refused, and the page's own
 * CSRF-checked sign-out, all sent to `apiUrl`; no page error on the way.
 */
async function cookieModeWorks(browser: Browser, pageOrigin: string, apiUrl: string, username: string): Promise<void> {
  const context = await browser.newContext()
  context.setDefaultTimeout(10_000)
  const page = await context.newPage()
  const pageErrors = collectPageErrors(page)
  const apiCalls: string[] = []
  page.on('request', (req) => {
    const url = new URL(req.url())
    if (url.origin === apiUrl) apiCalls.push(`${req.method()} ${url.pathname}`)
  })

  await page.goto(`${pageOrigin}/`)
  await heading(page, 'Sign in').waitFor()
  assert.equal(await page.getByTestId('error').textContent(), '', 'no error on load')
  await signIn(page, username)
  await heading(page, 'Your profile').waitFor()
  assert.equal(await page.getByTestId('profile-username').textContent(), username)
  // The cookies are the API's, and this page can read them: it echoes the CSRF one.
  const names = (await context.cookies(apiUrl)).map((c) => c.name)
  for (const name of ['access_token_cookie', 'csrf_access_token']) assert.ok(names.includes(name), `${name} in ${names.join(', ')}`)

  await page.getByTestId('nav-sessions').click()
  await heading(page, 'Sessions').waitFor()
  await page.getByTestId('current-session').waitFor()

  // The CSRF check holds across origins: the same cookies without X-CSRF-TOKEN are refused.
  const bare = await page.evaluate(async (base) => {
    const res = await fetch(`${base}/auth/logout`, { method: 'POST', credentials: 'include' })
    return { status: res.status, code: ((await res.json()) as { code?: string }).code }
  }, apiUrl)
  assert.deepEqual(bare, { status: 401, code: 'KEYCARD_CSRF' })

  const logout = page.waitForResponse((r) => r.url() === `${apiUrl}/auth/logout` && r.request().method() === 'POST')
  await page.getByTestId('sign-out').click()
  const answer = await logout
  assert.equal(answer.status(), 200)
  assert.ok(answer.request().headers()['x-csrf-token'], 'the page sent the CSRF header')
  await page.getByTestId('notice').filter({ hasText: 'You have signed out.' }).waitFor()
  await heading(page, 'Sign in').waitFor()
  assert.ok(!(await context.cookies(apiUrl)).some((c) => c.name === 'access_token_cookie'), 'the access cookie is gone')

  for (const call of ['GET /auth/me', 'POST /auth/login', 'GET /auth/tokens', 'POST /auth/logout'])
    assert.ok(apiCalls.includes(call), `${call} went to ${apiUrl}: ${apiCalls.join(', ')}`)
  assert.deepEqual(pageErrors, [])
  await context.close()
}

test('the account page from another origin: cookie mode from a listed origin, a clear error from any other', {
  timeout: 120_000,
}, async (t) => {
  const dist = tempDir(t)
  await build({ configFile: WEB_CONFIG, logLevel: 'warn', build: { outDir: dist, emptyOutDir: true } })
  const built = await readFile(join(dist, 'index.html'), 'utf8')
  assert.ok(built.includes('<meta name="keycard-api" content="" />'), 'the built page keeps the empty keycard-api meta tag')

  let apiUrl = ''
  const host = pageHost(dist, () => apiUrl)
  const listedPort = await listen(t, host)
  const unlistedPort = await listen(
    t,
    pageHost(dist, () => apiUrl),
  )
  const otherHostPort = await listen(
    t,
    pageHost(dist, () => apiUrl),
  )
  const listed = `http://localhost:${listedPort}`
  const unlisted = `http://localhost:${unlistedPort}`
  const otherHost = `http://${PLAIN_HTTP_HOST}:${otherHostPort}`

  const server = await startServer(t, { CORS_ORIGINS: `${listed},${otherHost}` })
  apiUrl = `http://localhost:${new URL(server.url).port}`
  await server.register('alice')
  const browser: Browser = await launchChromium(t)

  await t.test('from a listed origin: sign in, authenticated calls and a CSRF-checked POST', async () => {
    await cookieModeWorks(browser, listed, apiUrl, 'alice')
  })

  await t.test('from an unlisted origin: a visible error on load and on sign-in; nothing reaches the routes', async () => {
    const context = await browser.newContext()
    context.setDefaultTimeout(10_000)
    const page = await context.newPage()
    const pageErrors = collectPageErrors(page)
    const refused = `The server at ${apiUrl} does not accept calls from this page's origin (${unlisted}). Its operator can allow them by adding ${unlisted} to the server's CORS_ORIGINS.`

    await page.goto(`${unlisted}/`)
    await heading(page, 'Sign in').waitFor()
    await page.getByTestId('error').filter({ hasText: refused }).waitFor()
    await signIn(page, 'alice')
    await page.getByTestId('error').filter({ hasText: refused }).waitFor()
    assert.ok(await heading(page, 'Sign in').isVisible(), 'still on the sign-in screen')
    mkdirSync(ARTIFACTS, { recursive: true })
    await page.screenshot({ path: `${ARTIFACTS}cors-unlisted-origin.png`, fullPage: true })
    assert.deepEqual(await context.cookies(apiUrl), [], 'no cookies')

    // The server answered the sign-in's preflight 403, and never ran the login itself.
    const requests = server.logLines().filter((l) => l.msg === 'incoming request') as { req: { method: string; url: string } }[]
    assert.ok(
      requests.some((l) => l.req.method === 'OPTIONS' && l.req.url === '/auth/login'),
      'the preflight was asked',
    )
    assert.equal(requests.filter((l) => l.req.method === 'POST' && l.req.url === '/auth/login').length, 1, 'only the listed page signed in')
    assert.ok(pageErrors.length > 0 && pageErrors.every((e) => CORS_BLOCKED.test(e)), pageErrors.join('\n'))
    await context.close()
  })

  await t.test('from a listed origin on another host: signed in, and told why the cookies cannot be used', async () => {
    const context = await browser.newContext()
    context.setDefaultTimeout(10_000)
    const page = await context.newPage()
    const pageErrors = collectPageErrors(page)
    await page.goto(`${otherHost}/`)
    await heading(page, 'Sign in').waitFor()
    await signIn(page, 'alice')
    await page
      .getByTestId('error')
      .filter({
        hasText: `The server at ${apiUrl} signed you in, but this page (${otherHost}) cannot use its sign-in cookies: they belong to localhost`,
      })
      .waitFor()
    assert.ok(await heading(page, 'Sign in').isVisible())
    await page.screenshot({ path: `${ARTIFACTS}cors-other-host.png`, fullPage: true })
    assert.deepEqual(pageErrors, [])
    await context.close()
  })

  await t.test('from a sibling host with COOKIE_DOMAIN: app. and api. of one domain share the cookies', async (st) => {
    let siblingApi = ''
    const appPort = await listen(
      st,
      pageHost(dist, () => siblingApi),
    )
    const appOrigin = `http://app.${PLAIN_HTTP_HOST}:${appPort}`
    const api = await startServer(st, { CORS_ORIGINS: appOrigin, COOKIE_DOMAIN: PLAIN_HTTP_HOST })
    siblingApi = `http://api.${PLAIN_HTTP_HOST}:${new URL(api.url).port}`
    await api.register('bob')
    await cookieModeWorks(browser, appOrigin, siblingApi, 'bob')
  })
})
