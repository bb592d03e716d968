/** Logs are pino JSON lines and never hold a password, a secret or a whole token. */

import assert from 'node:assert/strict'
import { test } from 'node:test'
import { PASSWORD, startServer, TEST_SECRET } from './helpers.ts'

test('no password, secret or token appears in the logs of a whole session', async (t) => {
  const s = await startServer(t, { LOG_LEVEL: 'trace' })
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
  const tokens = [reg.access_token, reg.refresh_token, login.access_token, login.refresh_token, refreshed.access_token, refreshed.refresh_token]

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
