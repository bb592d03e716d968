/**
 * Emails: trimmed, NFC, the domain lower-cased and the local part kept as typed; controls (NUL, line
 * breaks) refused; unique, and matched at login, by the case-folded key of that normalised form.
 */

import assert from 'node:assert/strict'
import { test } from 'node:test'
import { checkEmail, emailKey } from '../src/identity-rules.ts'
import { PASSWORD, startServer, forEachDialect } from './helpers.ts'
import { codeOf } from './field-errors.ts'

forEachDialect((dialect) => {
  const CONTROLS = 'must not contain control characters such as NUL or a line break'

  test('an email is trimmed and NFC-normalised, with its domain lower-cased and its local part as typed', () => {
    assert.deepEqual(checkEmail('  Zoë@Example.COM\n'), { ok: true, value: 'Zoë@example.com' })
    assert.deepEqual(checkEmail('Zoe\u0308@EXAMPLE.org'), { ok: true, value: 'Zo\u00eb@example.org' })
    assert.deepEqual(checkEmail('First.Last+Tag@Sub.Example.COM'), { ok: true, value: 'First.Last+Tag@sub.example.com' })
    assert.deepEqual(checkEmail('ü@MÜNCHEN.DE'), { ok: true, value: 'ü@münchen.de' })
  })

  test('controls and NUL are refused, naming the character; so are U+FFFD, lone surrogates and bad shapes', () => {
    const refused: [string, string][] = [
      ['a\u0000b@example.com', `${CONTROLS} (U+0000)`],
      ['a@example.com\u0000', `${CONTROLS} (U+0000)`],
      ['line\nbreak@example.com', `${CONTROLS} (U+000A)`],
      ['a@exa\u007fmple.com', `${CONTROLS} (U+007F)`],
      ['a@exa\u0085mple.com', `${CONTROLS} (U+0085)`],
      ['bad\ufffd@example.com', 'must not contain U+FFFD, the replacement character (text decoded from the wrong encoding?)'],
      ['lone\udc00@example.com', 'must be valid UTF-8 text (it holds invalid bytes or a lone surrogate)'],
      ['not-an-email', 'must be an email address such as name@example.com'],
      ['   ', 'must be an email address such as name@example.com'],
      ['two@at@example.com', 'must be an email address such as name@example.com'],
      ['in side@example.com', 'must be an email address such as name@example.com'],
      [`${'a'.repeat(250)}@b.co`, 'must be an email address such as name@example.com'],
    ]
    for (const [email, problem] of refused) assert.deepEqual(checkEmail(email), { ok: false, problem }, JSON.stringify(email))
  })

  test('the key ignores case in both parts and the Unicode form', () => {
    assert.equal(emailKey('Zoë@example.com'), emailKey('ZOË@EXAMPLE.COM'.normalize('NFD')))
    assert.equal(emailKey('straße@example.de'), emailKey('STRASSE@example.de'))
    assert.notEqual(emailKey('zoe@example.com'), emailKey('zoë@example.com'))
  })

  test('register stores the normalised email; the same address in another case or form is taken (409)', async (t) => {
    const s = await startServer(t, {}, { dialect })
    const res = await s.api('POST', '/auth/register', { body: { username: 'zoe', password: PASSWORD, email: ' Zoe\u0308@Example.COM ' } })
    assert.equal(res.status, 201, res.text)
    assert.equal(res.body.user.email, 'Zoë@example.com')
    for (const email of ['zoë@example.com', 'ZOË@EXAMPLE.COM', 'Zoë@example.com\t']) {
      const again = await s.api('POST', '/auth/register', { body: { username: 'other', password: PASSWORD, email } })
      assert.equal(again.status, 409, JSON.stringify(email))
      assert.deepEqual(again.body, { msg: 'Email is already registered', ...codeOf('Email is already registered') })
    }
    assert.equal(
      (await s.api('POST', '/auth/register', { body: { username: 'other', password: PASSWORD, email: 'zoey@example.com' } })).status,
      201,
    )
  })

  test('login by email matches any case and form of it, surrounding spaces ignored', async (t) => {
    const s = await startServer(t, {}, { dialect })
    const { user } = await s.register('zoe', { email: 'Zoë@example.com' })
    for (const login of ['Zoë@example.com', 'zoë@EXAMPLE.com', ' ZOE\u0308@example.com ']) {
      const res = await s.api('POST', '/auth/login', { body: { username: login, password: PASSWORD } })
      assert.equal(res.status, 200, JSON.stringify(login))
      assert.equal((await s.api('GET', '/auth/me', { token: res.body.access_token })).body.id, user.id)
    }
  })

  test('register answers 400 naming email for controls and NUL', async (t) => {
    const s = await startServer(t, {}, { dialect })
    for (const email of ['a\u0000@example.com', 'a\r\nBcc: x@example.com', 'a@example.com\u0007']) {
      const res = await s.api('POST', '/auth/register', { body: { username: 'zoe', password: PASSWORD, email } })
      assert.equal(res.status, 400, JSON.stringify(email))
      assert.match(res.body.msg, new RegExp(`^email ${CONTROLS} \\(U\\+00[01][0-9A-F]\\)$`), JSON.stringify(email))
    }
    assert.equal((await s.api('POST', '/auth/login', { body: { username: 'zoe', password: PASSWORD } })).status, 401)
  })
})
