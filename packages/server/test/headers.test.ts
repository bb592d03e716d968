/** Every response carries `X-Content-Type-Options: nosniff`; API responses (tokens among them) `Cache-Control: no-store`. */

import assert from 'node:assert/strict'
import { mkdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { test } from 'node:test'
import { startServer, tempDir, forEachDialect } from './helpers.ts'

forEachDialect((dialect) => {
  test('token responses are no-store and nosniff, in header mode and cookie mode, and so are errors', async (t) => {
    const s = await startServer(t, {}, { dialect })
    const reg = await s.api('POST', '/auth/register', { body: { username: 'alice', password: 'correct horse battery' } })
    const login = await s.api('POST', '/auth/login', { body: { username: 'alice', password: 'correct horse battery' } })
    const cookie = await s.api('POST', '/auth/login', {
      body: { username: 'alice', password: 'correct horse battery' },
      headers: { 'x-token-mode': 'cookie' },
    })
    const fresh = await s.api('POST', '/auth/fresh-login', { body: { username: 'alice', password: 'correct horse battery' } })
    const refresh = await s.api('POST', '/auth/refresh', { token: login.body.refresh_token })
    const me = await s.api('GET', '/auth/me', { token: login.body.access_token })
    const verify = await s.api('GET', '/auth/verify', { token: login.body.access_token })
    const bad = await s.api('POST', '/auth/login', { body: { username: 'alice', password: 'wrong password here' } })
    const missing = await s.api('GET', '/no/such/route')
    const health = await s.api('GET', '/healthz')
    const cases = { reg, login, cookie, fresh, refresh, me, verify, bad, missing, health }
    for (const [name, res] of Object.entries(cases)) {
      assert.ok(res.status < 500, `${name}: ${res.status}`)
      assert.equal(res.headers.get('x-content-type-options'), 'nosniff', name)
      assert.equal(res.headers.get('cache-control'), 'no-store', name)
    }
    assert.ok(cookie.headers.getSetCookie().length > 0, 'the cookie login did set cookies')
  })

  test('the account page keeps its own caching, with nosniff', async (t) => {
    const web = tempDir(t)
    mkdirSync(join(web, 'assets'))
    writeFileSync(join(web, 'index.html'), '<!doctype html><title>Keycard</title>')
    writeFileSync(join(web, 'assets', 'index-abcdef12.js'), 'console.log(1)')
    const s = await startServer(t, {}, { dialect, webDir: web })
    const page = await s.api('GET', '/')
    assert.equal(page.status, 200)
    assert.equal(page.headers.get('cache-control'), 'no-cache')
    assert.equal(page.headers.get('x-content-type-options'), 'nosniff')
    const asset = await s.api('GET', '/assets/index-abcdef12.js')
    assert.equal(asset.status, 200)
    assert.equal(asset.headers.get('cache-control'), 'public, max-age=31536000, immutable')
    assert.equal(asset.headers.get('x-content-type-options'), 'nosniff')
  })
})
