/**
 * The account page's "Recent activity" screen in headless Chromium, against the real server on both
 * databases: the events the page's own actions caused, with their labels, newest first; paging by
 * key with "Load more"; the empty state; a hostile User-Agent shown as text; a session that ends
 * while the screen is open.
 *
 * Both clocks are frozen at the same instant (the server's with mock.timers, the browser's with
 * Playwright's clock), so "just now" and "3 hours ago" do not depend on how long a step takes.
 */

import assert from 'node:assert/strict'
import { mkdirSync } from 'node:fs'
import { type TestContext, test } from 'node:test'
import { fileURLToPath } from 'node:url'
import type { Browser, BrowserContext, Page } from 'playwright-core'
import { build } from 'vite'
import { AuditLog } from '../../src/audit/log.ts'
import { claimsOf, type Dialect, forEachDialect, freezeClock, openBeside, PASSWORD, startServer, type TestServer } from '../helpers.ts'
import { collectPageErrors, launchChromium } from './chromium.ts'

const ARTIFACTS = fileURLToPath(new URL('../../../../test-artifacts/browser/', import.meta.url))
const WEB_CONFIG = fileURLToPath(new URL('../../web/vite.config.ts', import.meta.url))
const NEW_PASSWORD = 'staple battery horse'
const FIREFOX = 'Mozilla/5.0 (X11; Linux x86_64; rv:130.0) Gecko/20100101 Firefox/130.0'
/** Markup in a User-Agent: as HTML it would be an <img> whose error handler sets a flag. */
const HOSTILE_AGENT = '<img src=x onerror="window.__pwned=1">'
/** The view's page size (web/src/views/activity.ts). */
const PAGE = 20

let built: Promise<unknown> | undefined
function buildPage(): Promise<unknown> {
  built ??= build({ configFile: WEB_CONFIG, logLevel: 'warn' }).then(() => mkdirSync(ARTIFACTS, { recursive: true }))
  return built
}

const heading = (page: Page, name: string) => page.getByRole('heading', { level: 1, name })

/** A browser context whose clock reads `ms` until the test ends (timers keep running). */
async function contextAt(browser: Browser, ms: number, userAgent?: string): Promise<BrowserContext> {
  const context = await browser.newContext({ viewport: { width: 1000, height: 760 }, ...(userAgent ? { userAgent } : {}) })
  context.setDefaultTimeout(10_000)
  await context.clock.setFixedTime(ms)
  return context
}

async function signIn(page: Page, username: string, password: string): Promise<void> {
  await page.getByLabel('Username or email').fill(username)
  await page.getByLabel('Password', { exact: true }).fill(password)
  await page.getByRole('button', { name: 'Sign in' }).click()
  await heading(page, 'Your profile').waitFor()
}

/** Opens Recent activity from the nav and waits for its list to be drawn. */
async function openActivity(page: Page): Promise<void> {
  await page.getByRole('link', { name: 'Recent activity' }).click()
  await heading(page, 'Recent activity').waitFor()
  await page.locator('[data-testid="events"]:not([aria-busy])').waitFor()
}

const texts = (page: Page, testId: string) => page.getByTestId(testId).evaluateAll((els) => els.map((e) => e.textContent ?? ''))
const ids = (page: Page) => page.getByTestId('event').evaluateAll((els) => els.map((e) => Number(e.getAttribute('data-event-id'))))

async function setUp(t: TestContext, dialect: Dialect): Promise<{ server: TestServer; browser: Browser; now: number }> {
  await buildPage()
  const now = Math.ceil(Date.now() / 1000) * 1000
  freezeClock(t, now)
  const server = await startServer(t, {}, { dialect })
  return { server, browser: await launchChromium(t), now }
}

forEachDialect((dialect) => {
  test('Recent activity lists what this account did, labelled, newest first; a hostile User-Agent stays text', {
    timeout: 120_000,
  }, async (t) => {
    const { server, browser, now } = await setUp(t, dialect)
    const context = await contextAt(browser, now)
    const page = await context.newPage()
    const pageErrors = collectPageErrors(page)

    // Sign up here; sign in from Firefox and from a client with markup in its User-Agent.
    await page.goto(server.url)
    await page.getByRole('link', { name: 'Sign up' }).first().click()
    await page.getByLabel('Username').fill('alice')
    await page.getByLabel('Password', { exact: true }).fill(PASSWORD)
    await page.getByLabel('Confirm password').fill(PASSWORD)
    await page.getByRole('button', { name: 'Sign up' }).click()
    await heading(page, 'Your profile').waitFor()
    const firefox = await contextAt(browser, now, FIREFOX)
    const firefoxPage = await firefox.newPage()
    await firefoxPage.goto(server.url)
    await signIn(firefoxPage, 'alice', PASSWORD)
    await server.login('alice', PASSWORD, HOSTILE_AGENT)

    // Revoke the Firefox session, then change the password (which signs out the hostile client's).
    await page.getByRole('link', { name: 'Sessions' }).click()
    const firefoxSession = page.getByTestId('session').filter({ hasText: 'Firefox' })
    await firefoxSession.getByRole('button', { name: 'Revoke' }).click()
    await page.getByTestId('notice').filter({ hasText: 'Revoked' }).waitFor()
    await page.getByRole('link', { name: 'Change password' }).click()
    await page.getByLabel('New password', { exact: true }).fill(NEW_PASSWORD)
    await page.getByLabel('Confirm new password').fill(NEW_PASSWORD)
    await page.getByRole('button', { name: 'Change password' }).click()
    await page.getByTestId('notice').filter({ hasText: 'password has been changed' }).waitFor()

    await openActivity(page)
    assert.deepEqual(await texts(page, 'event-label'), [
      'Password changed',
      'Session signed out',
      'Signed in',
      'Signed in',
      'Account created',
    ])
    // The same events, in the same order, as the API gives them.
    const api = await page.evaluate(async () => (await (await fetch('/auth/events')).json()) as { events: { id: number }[] })
    assert.deepEqual(
      await ids(page),
      api.events.map((e: { id: number }) => e.id),
    )
    assert.deepEqual(await texts(page, 'event-note'), [' (1 other session signed out)'])
    assert.equal(await page.getByTestId('event-count').textContent(), 'Showing all 5 events.')
    assert.equal(await page.getByTestId('load-more').isHidden(), true)
    assert.deepEqual(await texts(page, 'event-address'), Array(5).fill('127.0.0.1'))
    const agents = await texts(page, 'event-agent')
    assert.equal(agents[3], 'Firefox on Linux', 'a known browser is named')
    assert.equal(await page.getByTestId('event-agent').nth(3).getAttribute('title'), FIREFOX, 'the whole User-Agent is in the title')

    // The hostile agent is shown character for character, as text: no element was made of it.
    // (The page's CSP would block the inline handler anyway; the missing <img> is what proves textContent.)
    assert.equal(agents[2], HOSTILE_AGENT)
    assert.equal(await page.getByTestId('events').locator('img').count(), 0)
    assert.equal(await page.evaluate<unknown>('window.__pwned'), undefined)

    // Times: relative to this browser's clock, the exact instant in the title.
    const at = new Date(now).toISOString()
    const time = page.getByTestId('event-time').first()
    assert.equal(await time.textContent(), 'just now')
    assert.equal(await time.getAttribute('title'), at)
    assert.equal(await time.getAttribute('datetime'), at)

    await page.screenshot({ path: `${ARTIFACTS}activity-${dialect}.png`, fullPage: true })
    await firefox.close()
    assert.deepEqual(pageErrors, [])
  })

  test('Recent activity pages with Load more, says when there is nothing yet, and handles a session ended meanwhile', {
    timeout: 120_000,
  }, async (t) => {
    const { server, browser, now } = await setUp(t, dialect)
    // bob signed up 3 hours ago, then 44 sign-ins were recorded a minute apart (written straight to
    // the audit table: 44 argon2 logins would only slow the test), and he signs in here now.
    t.mock.timers.setTime(now - 3 * 3600_000)
    await server.register('bob')
    const db = openBeside(t, server)
    const audit = new AuditLog(db)
    const bobId = (await db.selectFrom('users').select('id').where('username', '=', 'bob').executeTakeFirstOrThrow()).id
    for (let i = 0; i < 44; i++) {
      t.mock.timers.tick(60_000)
      await audit.record({ type: 'login.succeeded', userId: bobId, username: 'bob', address: `203.0.113.${i}`, userAgent: `script/${i}` })
    }
    t.mock.timers.setTime(now)
    const context = await contextAt(browser, now)
    const page = await context.newPage()
    const pageErrors = collectPageErrors(page)
    const requests: string[] = []
    page.on('request', (req) => {
      const url = new URL(req.url())
      if (url.pathname === '/auth/events') requests.push(url.search)
    })
    await page.goto(server.url)
    await signIn(page, 'bob', PASSWORD)

    await openActivity(page)
    const all = (await server.api('GET', '/auth/events?limit=50', { token: (await server.login('bob')).access_token })).body.events
    // That last login is an event too; the page shows what was there when it loaded.
    const total = all.length - 1
    assert.ok(total > 2 * PAGE, `more than two pages (${total} events)`)
    const expected = all.slice(1).map((e: { id: number }) => e.id)

    assert.deepEqual(await ids(page), expected.slice(0, PAGE))
    assert.equal(await page.getByTestId('event-count').textContent(), `Showing the ${PAGE} most recent events.`)
    assert.equal(await page.getByTestId('event-time').first().textContent(), 'just now')
    assert.equal(await page.getByTestId('event-time').nth(1).textContent(), '2 hours ago')
    assert.equal(await page.getByTestId('event-agent').nth(1).textContent(), 'script/43')

    const more = page.getByRole('button', { name: 'Load more' })
    await more.click()
    await page
      .getByTestId('event')
      .nth(2 * PAGE - 1)
      .waitFor()
    assert.deepEqual(await ids(page), expected.slice(0, 2 * PAGE))
    // The first of the added events has the focus, for keyboard users.
    assert.equal(
      await page.evaluate<string | null | undefined>("document.activeElement?.getAttribute('data-event-id')"),
      String(expected[PAGE]),
    )
    await more.click()
    await page
      .getByTestId('event-count')
      .filter({ hasText: `Showing all ${total} events.` })
      .waitFor()
    assert.deepEqual(await ids(page), expected, 'every event once, newest first')
    assert.equal(await more.isHidden(), true)
    const labels = await texts(page, 'event-label')
    assert.equal(labels.at(-1), 'Account created')
    await page.setViewportSize({ width: 375, height: 740 })
    const overflow = await page.evaluate<number>('document.documentElement.scrollWidth - document.documentElement.clientWidth')
    assert.ok(overflow <= 0, `no horizontal scrolling on a phone (${overflow}px)`)
    await page.screenshot({ path: `${ARTIFACTS}activity-phone-${dialect}.png` })
    await page.setViewportSize({ width: 1000, height: 760 })
    assert.equal(await page.getByTestId('event-time').last().textContent(), '3 hours ago')
    // Each page after the first asked for the events before the previous page's last one.
    assert.deepEqual(requests, [
      `?limit=${PAGE}`,
      `?limit=${PAGE}&before=${expected[PAGE - 1]}`,
      `?limit=${PAGE}&before=${expected[2 * PAGE - 1]}`,
    ])

    // The session is revoked from elsewhere while the first page is shown: Load more ends on the sign-in screen, saying why.
    await page.getByRole('link', { name: 'Profile' }).click()
    await openActivity(page)
    const sid = claimsOf((await context.cookies()).find((c) => c.name === 'access_token_cookie')!.value).sid
    const other = await server.login('bob')
    assert.equal((await server.api('DELETE', `/auth/tokens/${sid}`, { token: other.access_token })).status, 200)
    await more.click()
    await heading(page, 'Sign in').waitFor()
    await page.getByTestId('error').filter({ hasText: 'no longer signed in' }).waitFor()

    // With no events (all removed, as the retention purge would), the screen says so.
    await signIn(page, 'bob', PASSWORD)
    await db.deleteFrom('audit_events').where('user_id', '=', bobId).execute()
    await openActivity(page)
    await page.getByTestId('no-events').waitFor()
    assert.equal(await page.getByTestId('event').count(), 0)
    assert.equal(await page.getByTestId('event-count').textContent(), '')
    assert.equal(await more.isHidden(), true)
    assert.equal(await page.getByTestId('error').textContent(), '')
    assert.deepEqual(pageErrors, [])
  })
})
