/** ACCEPT_FLASK_TOKENS_UNTIL's configuration: what loadConfig takes and refuses, and a date already past. */

import assert from 'node:assert/strict'
import { test } from 'node:test'
import { loadConfig } from '../src/config.ts'
import { configProblems, startServer, TEST_SECRET } from './helpers.ts'
import { ENDED, fjeTokens, userId } from './flask-fixtures.ts'

test('ACCEPT_FLASK_TOKENS_UNTIL takes a real date (through its end, UTC) or a date and time with its zone', () => {
  const base = { JWT_SECRET: TEST_SECRET, INIT_CWD: '/srv/app' }
  const until = (value: string) => loadConfig({ ...base, ACCEPT_FLASK_TOKENS_UNTIL: value }).acceptFlaskTokensUntil
  assert.equal(until('2027-03-31'), Date.UTC(2027, 3, 1) / 1000)
  assert.equal(until('2027-03-31T18:00:00Z'), Date.UTC(2027, 2, 31, 18) / 1000)
  assert.equal(until('2027-03-31T18:00+02:00'), Date.UTC(2027, 2, 31, 16) / 1000)
  assert.equal(until('2028-02-29'), Date.UTC(2028, 2, 1) / 1000)
  assert.equal(loadConfig(base).acceptFlaskTokensUntil, null)
  for (const bad of [
    '2027-02-30',
    '2027-02-29',
    '2027-13-01',
    'tomorrow',
    '2027-03-31T18:00:00',
    '2027-03-31T25:00Z',
    '31/03/2027',
    '1795349405',
  ]) {
    const problems = configProblems({ ...base, ACCEPT_FLASK_TOKENS_UNTIL: bad }).join('\n')
    assert.match(problems, /ACCEPT_FLASK_TOKENS_UNTIL: expected a real date or a date and time with its zone, such as 2027-03-31/, bad)
    assert.ok(problems.includes(JSON.stringify(bad)), `names the value ${bad}`)
  }
})

test('ACCEPT_FLASK_TOKENS_UNTIL needs HS256 with JWT_SECRET, the secret the Flask service signed with', () => {
  const keyring = configProblems({ JWT_ALGORITHM: 'ES256', ACCEPT_FLASK_TOKENS_UNTIL: '2027-03-31' }).join('\n')
  assert.match(keyring, /ACCEPT_FLASK_TOKENS_UNTIL: needs HS256 signing with JWT_SECRET, but JWT_ALGORITHM=ES256 signs with the keyring/)
  const generated = configProblems({ JWT_ALGORITHM: 'HS256', ACCEPT_FLASK_TOKENS_UNTIL: '2027-03-31' }).join('\n')
  assert.match(generated, /ACCEPT_FLASK_TOKENS_UNTIL: needs JWT_SECRET set to the Flask service's JWT_SECRET_KEY/)
})

test('a date already past starts the server with a warning, and every Flask token is refused', async (t) => {
  const s = await startServer(t, { ACCEPT_FLASK_TOKENS_UNTIL: '2020-01-01' })
  const warning = s.logLines().find((l) => l.level === 40 && String(l.msg).startsWith('ACCEPT_FLASK_TOKENS_UNTIL'))
  assert.ok(warning, s.logText())
  assert.match(String(warning.msg), /\(2020-01-02T00:00:00\.000Z\) has passed: tokens the Flask service signed are refused/)
  await s.register('alice')
  const [access] = fjeTokens([{ sub: await userId(s, 'alice') }])
  assert.deepEqual((await s.api('GET', '/auth/me', { token: access })).body, ENDED)
})
