/** Logs are pino JSON lines and never hold a password, a secret or a whole token. */

import assert from 'node:assert/strict'
import { test } from 'node:test'
import { PASSWORD, startServer, TEST_SECRET, forEachDialect } from './helpers.ts'

forEachDialect((dialect) => {
  test('no password, secret or token appears in the logs of a whole session', async (t) => {
    const s = await startServer(t, { LOG_LEVEL: 'trace' }, { dialect })
    const secrets = [PASSWORD, TEST_SECRET, 'a brand new password', 'wrong password here']
    const reg = await s.register('alice')
    const login = await s.login('alice')
    await s.api('POST', '/auth/login', { body: { username: 'alice', password: 'wrong password here' } })
    await s.api('POST', '/auth/login', { raw: `{"username":"alice","password":"${PASSWORD}"`, contentType: 'application/json' })
    const refreshed = (await s.api('POST', '/auth/refresh', { token: login.refresh_token })).body
    await s.api('POST', '/auth/refresh', { token: login.refresh_token })
    await s.api('POST', '/auth/password', { token: reg.access_token, body: { new_password: 'a brand new password' } })
    await s.api('GET', '/auth/verify', { token: reg.access_token })
    await s.api('GET', '/auth/me', { token: `${reg.access_token}x` })
    await s.api('POST', '/auth/logout', { token: reg.refresh_token })
    const tokens = [
      reg.access_token,
      reg.refresh_token,
      login.access_token,
      login.refresh_token,
      refreshed.access_token,
      refreshed.refresh_token,
    ]

    const text = s.logText()
    const lines = s.logLines()
    assert.ok(lines.length > 20, 'trace level logs every request')
    assert.ok(lines.every((l) => typeof l.level === 'number' && typeof l.time === 'number'))
    for (const value of secrets) assert.ok(!text.includes(value), `a secret or password leaked into the logs`)
    for (const token of tokens) {
      // No whole token, and not even a signature or payload segment.
      for (const part of token.split('.').slice(1)) assert.ok(!text.includes(part), 'a token leaked into the logs')
    }
  })

  test('at info, forward-auth (GET /auth/verify) writes no request lines; other routes log theirs with reqId', async (t) => {
    const s = await startServer(t, { LOG_LEVEL: 'info' }, { dialect })
    const { access_token } = await s.register('alice')
    const before = s.logLines().length
    assert.equal((await s.api('GET', '/auth/verify', { token: access_token })).status, 200)
    assert.equal((await s.api('GET', '/auth/verify', { token: `${access_token}x` })).status, 401)
    assert.equal((await s.api('GET', '/auth/verify')).status, 401)
    assert.deepEqual(s.logLines().slice(before), [], 'verify logs at warn')

    await s.api('GET', '/auth/me', { token: access_token })
    const lines = s.logLines().slice(before)
    const incoming = lines.find((l) => l.msg === 'incoming request')
    const completed = lines.find((l) => l.msg === 'request completed')
    assert.ok(incoming && completed, 'other routes still log their requests')
    assert.equal(typeof incoming.reqId, 'string')
    assert.equal(incoming.reqId, completed.reqId)
    assert.equal((incoming.req as Record<string, unknown>).url, '/auth/me')
    assert.equal((completed.res as Record<string, unknown>).statusCode, 200)
  })

  test('at debug, verify requests are logged like any other; at warn, nothing per request', async (t) => {
    const debug = await startServer(t, { LOG_LEVEL: 'debug' }, { dialect })
    const { access_token } = await debug.register('alice')
    const before = debug.logLines().length
    await debug.api('GET', '/auth/verify', { token: access_token })
    const msgs = debug
      .logLines()
      .slice(before)
      .map((l) => l.msg)
    assert.ok(msgs.includes('incoming request') && msgs.includes('request completed'))

    const warn = await startServer(t, { LOG_LEVEL: 'warn' }, { dialect })
    const reg = await warn.register('bob')
    const at = warn.logLines().length
    await warn.api('GET', '/auth/verify', { token: reg.access_token })
    await warn.api('GET', '/auth/me', { token: reg.access_token })
    assert.deepEqual(warn.logLines().slice(at), [])
  })

  test('at warn, a request that does log (refresh reuse) still carries its reqId, and no token', async (t) => {
    const s = await startServer(t, { LOG_LEVEL: 'warn', REFRESH_REUSE_INTERVAL: '0' }, { dialect })
    const reg = await s.register('alice')
    await s.api('POST', '/auth/refresh', { token: reg.refresh_token })
    assert.equal((await s.api('POST', '/auth/refresh', { token: reg.refresh_token })).status, 401)
    const lines = s.logLines().filter((l) => l.msg === 'refresh token reused: session revoked')
    assert.equal(lines.length, 1)
    assert.equal(lines[0]!.level, 40)
    assert.match(String(lines[0]!.reqId), /^req-/)
    for (const part of reg.refresh_token.split('.').slice(1)) assert.ok(!s.logText().includes(part))
  })
})
