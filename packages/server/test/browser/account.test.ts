/**
 * The account page in a real browser: headless Chromium driven by playwright-core, against the real
 * server (cookie mode) on a temp SQLite file. Builds web/dist first. Screenshots of the main screens
 * go to test-artifacts/browser/ at the repository root; with UPDATE_SCREENSHOT=1 the sessions screen
 * is also copied to docs/account-page.png (the one the README shows).
 *
 * The server runs in this process, so its clock is this process's `Date`: the tests freeze it
 * (mock.timers) and advance it past a token's lifetime instead of waiting. The browser's cookies are
 * session cookies, so its own clock does not matter.
 *
 * Needs Chromium: `CHROMIUM_PATH`, else Debian's /usr/bin/chromium (`apt-get install chromium`;
 * .ci/run installs it). Without it the test fails, it is not skipped (chromium.ts).
 */

import assert from 'node:assert/strict'
import { mkdirSync } from 'node:fs'
import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import { test } from 'node:test'
import { dirname } from 'node:path'
import { fileURLToPath } from 'node:url'
import type { Browser, BrowserContext, Page } from 'playwright-core'
import { build } from 'vite'
import { claimsOf, openBeside, startServer } from '../helpers.ts'
import { collectPageErrors, launchChromium, PLAIN_HTTP_HOST } from './chromium.ts'

const ARTIFACTS = fileURLToPath(new URL('../../../../test-artifacts/browser/', import.meta.url))
const README_SCREENSHOT = fileURLToPath(new URL('../../../../docs/account-page.png', import.meta.url))
const WEB_CONFIG = fileURLToPath(new URL('../../web/vite.config.ts', import.meta.url))
/** Seconds an access token lives (the frozen clock is advanced past it). */
const ACCESS_SECONDS = 4
/** Any request in the last 3 of those seconds (that is, a second after the token was made) re-issues the access cookie. */
const WINDOW_SECONDS = 3
const PASSWORD = 'correct horse battery'
const NEW_PASSWORD = 'staple battery horse'

const heading = (page: Page, name: string) => page.getByRole('heading', { level: 1, name })

async function shot(page: Page, name: string): Promise<void> {
  await page.screenshot({ path: `${ARTIFACTS}${name}.png`, fullPage: true })
}

async function signIn(page: Page, username: string, password: string): Promise<void> {
  await page.getByLabel('Username or email').fill(username)
  await page.getByLabel('Password', { exact: true }).fill(password)
  await page.getByRole('button', { name: 'Sign in' }).click()
  await heading(page, 'Your profile').waitFor()
}

/** Fills the sign-up form; `confirm` defaults to the same password. */
async function fillSignUp(page: Page, username: string, password: string, confirm = password): Promise<void> {
  await page.getByLabel('Username').fill(username)
  await page.getByLabel('Password', { exact: true }).fill(password)
  await page.getByLabel('Confirm password').fill(confirm)
}

/** Every Delete button lies wholly inside the viewport and inside the table's box (not scrolled away in it). */
async function assertDeleteButtonsVisible(page: Page, label: string): Promise<void> {
  const viewport = page.viewportSize()!
  const wrap = (await page.locator('.table-wrap').boundingBox())!
  const buttons = page.getByTestId('delete-user')
  const count = await buttons.count()
  assert.ok(count > 0, `${label}: there are Delete buttons`)
  for (let i = 0; i < count; i++) {
    const box = (await buttons.nth(i).boundingBox())!
    const where = `${label}: Delete button ${i} at x ${box.x}..${box.x + box.width}, table ${wrap.x}..${wrap.x + wrap.width}, viewport 0..${viewport.width}`
    assert.ok(box.x >= 0 && box.x + box.width <= viewport.width, where)
    assert.ok(box.x >= wrap.x && box.x + box.width <= wrap.x + wrap.width, where)
  }
  const scroll = await page.locator('.table-wrap').evaluate((el) => el.scrollWidth - el.clientWidth)
  assert.ok(scroll <= 0, `${label}: the table does not scroll sideways (${scroll}px)`)
}

/** The status of a same-origin fetch made by the page, with the cookies but without X-CSRF-TOKEN. */
function pageFetch(page: Page, method: string, path: string): Promise<{ status: number; msg: string }> {
  return page.evaluate(
    async ([m, p]) => {
      const res = await fetch(p!, { method: m, credentials: 'same-origin' })
      return { status: res.status, msg: ((await res.json()) as { msg?: string }).msg ?? '' }
    },
    [method, path],
  )
}

/** The claims of this browser's access cookie. */
async function accessClaims(context: BrowserContext): Promise<Record<string, any>> {
  const cookie = (await context.cookies()).find((c) => c.name === 'access_token_cookie')
  assert.ok(cookie, 'the browser holds an access cookie')
  return claimsOf(cookie.value)
}

let built: Promise<unknown> | undefined
/** Builds web/dist once for the tests of this file. */
function buildPage(): Promise<unknown> {
  built ??= build({ configFile: WEB_CONFIG, logLevel: 'warn' }).then(() => mkdirSync(ARTIFACTS, { recursive: true }))
  return built
}

test('the account page, end to end in headless Chromium', { timeout: 180_000 }, async (t) => {
  await buildPage()
  // The server's clock: frozen at the real time, advanced by the tests (timers stay real).
  t.mock.timers.enable({ apis: ['Date'], now: Date.now() })
  // The user-list test registers 50 users from this one address: past THROTTLE_REGISTER's 20 an hour.
  const server = await startServer(t, {
    ACCESS_TOKEN_EXPIRES: String(ACCESS_SECONDS),
    IMPLICIT_REFRESH_WINDOW: String(WINDOW_SECONDS),
    THROTTLE_REGISTER: 'off',
  })
  const browser: Browser = await launchChromium(t)
  const context: BrowserContext = await browser.newContext({ viewport: { width: 1000, height: 760 } })
  context.setDefaultTimeout(10_000)
  const page = await context.newPage()
  const pageErrors = collectPageErrors(page)
  /** The page's explicit POST /auth/refresh calls so far. */
  let refreshes = 0
  page.on('request', (req) => {
    if (new URL(req.url()).pathname === '/auth/refresh') refreshes++
  })

  await t.test('a first visit shows the sign-in screen', async () => {
    await page.goto(server.url)
    await heading(page, 'Sign in').waitFor()
    await shot(page, 'sign-in')
  })

  await t.test('sign up asks for the password twice and refuses a mismatch before sending anything', async () => {
    await page.getByRole('link', { name: 'Sign up' }).first().click()
    await heading(page, 'Sign up').waitFor()
    let sent = 0
    const count = (req: { url(): string }) => {
      if (new URL(req.url()).pathname === '/auth/register') sent++
    }
    page.on('request', count)
    await fillSignUp(page, 'alice', PASSWORD, `${PASSWORD}!`)
    await page.getByRole('button', { name: 'Sign up' }).click()
    await page.getByTestId('error').filter({ hasText: 'The two passwords do not match.' }).waitFor()
    assert.equal(await page.getByLabel('Confirm password').getAttribute('aria-invalid'), 'true')
    assert.equal(await page.evaluate<string | undefined>('document.activeElement?.id'), 'confirm_password')
    page.off('request', count)
    assert.equal(sent, 0, 'no request was sent')
  })

  await t.test(
    'sign up: a field the server refuses is explained and marked, then the account is created and the profile shown',
    async () => {
      await fillSignUp(page, 'alice', 'short')
      await page.getByRole('button', { name: 'Sign up' }).click()
      // The server's message, as a sentence; the field comes from the answer's `field`.
      await page.getByTestId('error').filter({ hasText: 'Password must be at least 8 characters.' }).waitFor()
      assert.equal(await page.getByLabel('Password', { exact: true }).getAttribute('aria-invalid'), 'true')
      await shot(page, 'sign-up-error')
      await page.getByLabel('Email (optional)').fill('alice@example.com')
      await fillSignUp(page, 'alice', PASSWORD)
      await page.getByRole('button', { name: 'Sign up' }).click()
      await heading(page, 'Your profile').waitFor()
      assert.equal(await page.getByTestId('profile-username').textContent(), 'alice')
      assert.equal(await page.getByTestId('profile-email').textContent(), 'alice@example.com')
      // Focus moved to the new screen's heading.
      assert.equal(await page.evaluate<string | undefined>('document.activeElement?.textContent'), 'Your profile')
      await shot(page, 'profile')
    },
  )

  await t.test('the tokens are in HttpOnly cookies: JavaScript sees only the CSRF values', async () => {
    const visible = await page.evaluate<string>('document.cookie')
    assert.match(visible, /csrf_access_token=/)
    assert.doesNotMatch(visible, /access_token_cookie|refresh_token_cookie/)
    const cookies = await context.cookies()
    const access = cookies.find((c) => c.name === 'access_token_cookie')
    assert.ok(access?.httpOnly, 'access_token_cookie is HttpOnly')
    assert.ok(cookies.find((c) => c.name === 'refresh_token_cookie')?.httpOnly, 'refresh_token_cookie is HttpOnly')
    assert.equal(access.sameSite, 'Lax')
  })

  await t.test('a reload stays signed in', async () => {
    await page.reload()
    await heading(page, 'Your profile').waitFor()
    assert.equal(await page.getByTestId('profile-username').textContent(), 'alice')
  })

  await t.test('sign out, then sign in again; a wrong password is explained', async () => {
    await page.getByRole('button', { name: 'Sign out', exact: true }).click()
    await heading(page, 'Sign in').waitFor()
    await page.getByLabel('Username or email').fill('alice')
    await page.getByLabel('Password', { exact: true }).fill('not the password')
    await page.getByRole('button', { name: 'Sign in' }).click()
    await page.getByTestId('error').filter({ hasText: 'Bad username or password.' }).waitFor()
    await signIn(page, 'alice', PASSWORD)
  })

  await t.test('the page is served with its security headers', async () => {
    const res = await page.request.get(server.url)
    assert.equal(res.status(), 200)
    assert.match(res.headers()['content-security-policy'] ?? '', /default-src 'self'/)
    assert.equal(res.headers()['x-frame-options'], 'DENY')
  })

  await t.test('an active page outlives its access token through implicit refresh, with no refresh call', async () => {
    const first = await accessClaims(context)
    const before = refreshes
    // Use the page past the first token's expiry, 1.2 s of server time apart; each screen change is
    // an API call with the cookie, and one of them falls in the implicit-refresh window.
    const end = (first.exp as number) + 1.5
    while (Date.now() / 1000 < end) {
      t.mock.timers.tick(1200)
      await page.getByRole('link', { name: 'Sessions' }).click()
      await heading(page, 'Your sessions').waitFor()
      await page.getByTestId('session').first().waitFor()
      await page.getByRole('link', { name: 'Profile' }).click()
      await heading(page, 'Your profile').waitFor()
    }
    const now = await accessClaims(context)
    assert.ok(Date.now() / 1000 > first.exp, 'the first access token has expired')
    assert.ok(now.exp > first.exp, 'the access cookie was re-issued')
    assert.equal(now.sid, first.sid, 'for the same login session')
    assert.equal(refreshes, before, 'without calling POST /auth/refresh')
    assert.equal(await page.getByTestId('error').textContent(), '')
  })

  await t.test('an idle page whose access token expired refreshes it explicitly and stays signed in', async () => {
    const first = await accessClaims(context)
    const before = refreshes
    t.mock.timers.tick((ACCESS_SECONDS + 1) * 1000)
    await page.getByRole('link', { name: 'Sessions' }).click()
    await heading(page, 'Your sessions').waitFor()
    await page.getByTestId('session').first().waitFor()
    assert.equal(await page.getByTestId('error').textContent(), '')
    assert.equal(refreshes, before + 1, 'one POST /auth/refresh')
    assert.equal((await accessClaims(context)).sid, first.sid)
    t.mock.timers.tick((ACCESS_SECONDS + 1) * 1000)
    await page.reload()
    await heading(page, 'Your sessions').waitFor()
    await page.getByTestId('session').first().waitFor()
    assert.equal(await page.getByTestId('error').textContent(), '')
    assert.equal(refreshes, before + 2)
  })

  const other = await browser.newContext({ userAgent: 'Mozilla/5.0 (X11; Linux x86_64; rv:130.0) Gecko/20100101 Firefox/130.0' })
  other.setDefaultTimeout(10_000)
  const otherPage = await other.newPage()

  await t.test('another browser signs in; the first revokes its session; there it fails', async () => {
    await otherPage.goto(server.url)
    await heading(otherPage, 'Sign in').waitFor()
    await signIn(otherPage, 'alice', PASSWORD)

    await page.reload()
    await heading(page, 'Your sessions').waitFor()
    await page.getByTestId('session').nth(1).waitFor()
    assert.equal(await page.getByTestId('session').count(), 2)
    assert.equal(await page.getByTestId('current-session').count(), 1)
    const firefox = page.getByTestId('session').filter({ hasText: 'Firefox' })
    assert.equal(await firefox.getAttribute('data-current'), 'false')
    await shot(page, 'sessions')
    if (process.env.UPDATE_SCREENSHOT === '1') {
      // Cropped to the content, for the README.
      mkdirSync(dirname(README_SCREENSHOT), { recursive: true })
      await page.screenshot({ path: README_SCREENSHOT, clip: { x: 0, y: 0, width: 1000, height: 510 } })
    }
    await firefox.getByRole('button', { name: 'Revoke' }).click()
    await page.getByTestId('notice').filter({ hasText: 'Revoked' }).waitFor()
    assert.equal(await page.getByTestId('session').count(), 1)

    await otherPage.getByRole('link', { name: 'Sessions' }).click()
    await heading(otherPage, 'Sign in').waitFor()
    await otherPage.getByTestId('error').filter({ hasText: 'no longer signed in' }).waitFor()
    assert.equal((await pageFetch(otherPage, 'GET', '/auth/me')).status, 401)
  })

  await t.test('change password asks for the current password when the token is not fresh, and keeps this browser signed in', async () => {
    const sid = (await accessClaims(context)).sid
    // A third browser session, which the change must sign out.
    assert.equal((await server.api('POST', '/auth/login', { body: { username: 'alice', password: PASSWORD } })).status, 200)
    t.mock.timers.tick((ACCESS_SECONDS + 1) * 1000) // the next call refreshes: a refreshed token is not fresh
    await page.getByRole('link', { name: 'Change password' }).click()
    await heading(page, 'Change password').waitFor()
    await page.getByLabel('New password', { exact: true }).fill(NEW_PASSWORD)
    await page.getByLabel('Confirm new password').fill(NEW_PASSWORD)
    await page.getByRole('button', { name: 'Change password' }).click()
    await page.getByLabel('Current password').waitFor()
    await shot(page, 'change-password-confirm')
    await page.getByLabel('Current password').fill(PASSWORD)
    await page.getByRole('button', { name: 'Confirm and change password' }).click()
    await page.getByTestId('notice').filter({ hasText: 'password has been changed' }).waitFor()
    await shot(page, 'change-password-done')
    assert.match((await page.getByTestId('notice').textContent()) ?? '', /1 other session/)
    // The fresh-login went to this browser's session, so the change kept it.
    const claims = await accessClaims(context)
    assert.equal(claims.sid, sid)
    assert.equal(claims.fresh, true)
    await page.getByRole('link', { name: 'Sessions' }).click()
    await page.getByTestId('session').first().waitFor()
    assert.equal(await page.getByTestId('session').count(), 1)
    assert.equal(await page.getByTestId('session').first().getAttribute('data-session-id'), sid)
    // The new password signs in; the old one no longer does.
    assert.equal((await server.api('POST', '/auth/login', { body: { username: 'alice', password: PASSWORD } })).status, 401)
    assert.equal((await server.api('POST', '/auth/login', { body: { username: 'alice', password: NEW_PASSWORD } })).status, 200)
  })

  await t.test('a forged cross-site POST without the CSRF header is rejected', async () => {
    // Another origin (same site, so SameSite=Lax cookies do go along) posts a form to the server.
    const evil = createServer((_req, res) => {
      res.writeHead(200, { 'content-type': 'text/html' })
      res.end(
        `<form id="f" method="POST" action="${server.url}/auth/logout-all" enctype="text/plain"><input name="x" value="y"></form><script>f.submit()</script>`,
      )
    })
    await new Promise<void>((resolve) => evil.listen(0, '127.0.0.1', resolve))
    t.after(() => evil.close())
    const attack = await context.newPage()
    await attack.goto(`http://127.0.0.1:${(evil.address() as AddressInfo).port}/`)
    await attack.waitForURL(`${server.url}/auth/logout-all`)
    assert.match(await attack.locator('body').innerText(), /Missing CSRF token/)
    await attack.close()
    // A same-origin fetch without the header fails the same way; the session survived both.
    assert.deepEqual(await pageFetch(page, 'POST', '/auth/logout-all'), { status: 401, msg: 'Missing CSRF token' })
    assert.equal((await pageFetch(page, 'GET', '/auth/me')).status, 200)
  })

  await t.test(
    'an admin sees the user list, every Delete button in view at desktop widths, and deletes a user after confirming',
    async () => {
      await server.register('bob')
      // Long names and emails are what pushed the Delete buttons out of view.
      await server.register('carol.with.a.rather-long-name', { email: 'carol.with.a.rather.long.address@subdomain.example.com' })
      await server.register('dave', { email: 'dave@example.com' })
      const db = openBeside(t, server)
      await db.updateTable('users').set({ admin: 1 }).where('username', '=', 'alice').execute()
      await page.reload()
      await page.getByRole('link', { name: 'Users' }).click()
      await heading(page, 'Users').waitFor()
      const bob = page.getByTestId('user-row').filter({ hasText: 'bob' })
      await bob.waitFor()
      for (const [width, height] of [
        [1280, 800],
        [1440, 900],
        [1000, 760],
        [768, 1024],
      ] as const) {
        await page.setViewportSize({ width, height })
        await assertDeleteButtonsVisible(page, `${width}x${height}`)
        await shot(page, `admin-users-${width}`)
      }
      await page.setViewportSize({ width: 1000, height: 760 })
      page.once('dialog', (dialog) => void dialog.accept())
      await bob.getByRole('button', { name: /^Delete/ }).click()
      await page.getByTestId('notice').filter({ hasText: 'Deleted the user bob' }).waitFor()
      assert.equal(await bob.count(), 0)
    },
  )

  await t.test('the user list pages by key: Next page and Previous page walk it, a page of 50 at a time', async () => {
    // alice, carol and dave are left; 50 more make two pages (50 and 3).
    for (let i = 0; i < 50; i++) await server.register(`paged${String(i).padStart(2, '0')}`)
    await page.getByRole('link', { name: 'Sessions' }).click()
    await page.getByRole('link', { name: 'Users' }).click()
    const count = page.getByTestId('user-count')
    await count.filter({ hasText: '53 user(s); showing 1–50.' }).waitFor()
    const next = page.getByRole('button', { name: 'Next page' })
    const prev = page.getByRole('button', { name: 'Previous page' })
    assert.equal(await prev.isDisabled(), true)
    await next.click()
    await count.filter({ hasText: '53 user(s); showing 51–53.' }).waitFor()
    assert.deepEqual(await page.getByTestId('user-row').evaluateAll((rows) => rows.map((r) => r.getAttribute('data-username'))), [
      'paged47',
      'paged48',
      'paged49',
    ])
    assert.equal(await next.isDisabled(), true)
    await prev.click()
    await count.filter({ hasText: '53 user(s); showing 1–50.' }).waitFor()
    assert.equal(await page.getByTestId('user-row').first().getAttribute('data-username'), 'alice')
  })

  await t.test('readable on a phone', async () => {
    await page.setViewportSize({ width: 375, height: 740 })
    await page.getByRole('link', { name: 'Sessions' }).click()
    await page.getByTestId('session').first().waitFor()
    const overflow = await page.evaluate<number>('document.documentElement.scrollWidth - document.documentElement.clientWidth')
    assert.ok(overflow <= 0, `no horizontal scrolling (${overflow}px)`)
    await shot(page, 'sessions-phone')
  })

  await t.test('sign out: protected calls fail afterwards, even with a copy of the old cookies', async () => {
    const before = await context.cookies()
    await page.getByRole('button', { name: 'Sign out', exact: true }).click()
    await heading(page, 'Sign in').waitFor()
    await page.getByTestId('notice').filter({ hasText: 'signed out' }).waitFor()
    assert.equal((await pageFetch(page, 'GET', '/auth/me')).status, 401)
    assert.equal((await pageFetch(page, 'GET', '/auth/tokens')).status, 401)
    await page.reload()
    await heading(page, 'Sign in').waitFor()
    // The signed-out session is revoked on the server, not just forgotten by this browser.
    const stolen = await browser.newContext()
    await stolen.addCookies(before)
    const replay = await stolen.request.get(`${server.url}/auth/me`)
    assert.equal(replay.status(), 401)
    await stolen.close()
  })

  await other.close()
  assert.deepEqual(pageErrors, [])
})

test('over plain http with Secure cookies the sign-in cannot stick, and the page says why and how to fix it', {
  timeout: 120_000,
}, async (t) => {
  await buildPage()
  // The default outside development; the server itself serves plain http.
  const server = await startServer(t, { COOKIE_SECURE: 'true' })
  await server.register('erin')
  const browser = await launchChromium(t)
  const context = await browser.newContext({ viewport: { width: 1000, height: 760 } })
  context.setDefaultTimeout(10_000)
  const page = await context.newPage()
  const pageErrors = collectPageErrors(page)
  // Not localhost nor 127.x: an origin Chromium does not treat as secure, so it drops Secure cookies.
  const url = server.url.replace('127.0.0.1', PLAIN_HTTP_HOST)
  await page.goto(url)
  await heading(page, 'Sign in').waitFor()
  assert.equal(await page.evaluate<boolean>('window.isSecureContext'), false)

  const login = page.waitForResponse((res) => new URL(res.url()).pathname === '/auth/login')
  await page.getByLabel('Username or email').fill('erin')
  await page.getByLabel('Password', { exact: true }).fill(PASSWORD)
  await page.getByRole('button', { name: 'Sign in' }).click()
  assert.equal((await login).status(), 200, 'the server accepted the password')
  const error = page.getByTestId('error').filter({ hasText: 'refused the sign-in cookies' })
  await error.waitFor()
  const text = (await error.textContent()) ?? ''
  assert.match(text, /plain http/)
  assert.match(text, /HTTPS/)
  assert.match(text, /COOKIE_SECURE=false/)
  await heading(page, 'Sign in').waitFor()
  assert.deepEqual(await context.cookies(), [], 'the browser kept no cookie')
  await shot(page, 'plain-http-sign-in')

  // Signing up says the same (the account is created; signing in over HTTPS then works).
  await page.getByRole('link', { name: 'Sign up' }).first().click()
  await heading(page, 'Sign up').waitFor()
  await fillSignUp(page, 'frank', PASSWORD)
  await page.getByRole('button', { name: 'Sign up' }).click()
  await page.getByTestId('error').filter({ hasText: 'COOKIE_SECURE=false' }).waitFor()
  // The browser's own note that COOP needs a trustworthy origin is the one console error expected here.
  assert.deepEqual(
    pageErrors.filter(
      (e) => !/^The Cross-Origin-Opener-Policy header has been ignored, because the URL's origin was untrustworthy/.test(e),
    ),
    [],
  )
})
