/** Body limits, content types, malformed JSON, wrong JSON types, unknown routes, 500s: all {"msg", "code"}, no stack traces. */

import assert from 'node:assert/strict'
import { test } from 'node:test'
import { openDatabase } from '../src/db/database.ts'
import { PASSWORD, startServer, type Reply, type RequestOptions, forEachDialect, testDatabaseUrl } from './helpers.ts'

forEachDialect((dialect) => {
  function assertPlainError(res: Reply, status: number, msg: string, code: string, field?: string) {
    assert.equal(res.status, status, res.text)
    assert.match(res.headers.get('content-type') ?? '', /^application\/json/)
    assert.deepEqual(res.body, field === undefined ? { msg, code } : { msg, code, field })
    assert.doesNotMatch(res.text, /\bat .*\(|node_modules|\.ts:\d+|stack/i)
  }

  test('a body over 64 KiB gets 413', async (t) => {
    const s = await startServer(t, {}, { dialect })
    const big = JSON.stringify({ username: 'alice', password: 'x'.repeat(65 * 1024) })
    assertPlainError(
      await s.api('POST', '/auth/register', { raw: big, contentType: 'application/json' }),
      413,
      'Request body is too large (limit 65536 bytes)',
      'BODY_TOO_LARGE',
    )
    const { access_token } = await s.register('alice')
    assertPlainError(
      await s.api('POST', '/auth/password', { token: access_token, raw: big, contentType: 'application/json' }),
      413,
      'Request body is too large (limit 65536 bytes)',
      'BODY_TOO_LARGE',
    )
  })

  test('a content type other than JSON gets 415', async (t) => {
    const s = await startServer(t, {}, { dialect })
    for (const contentType of ['text/plain', 'application/x-www-form-urlencoded', 'multipart/form-data; boundary=x', 'application/xml']) {
      assertPlainError(
        await s.api('POST', '/auth/login', { raw: 'username=alice', contentType }),
        415,
        'Unsupported Content-Type: send application/json',
        'UNSUPPORTED_MEDIA_TYPE',
      )
    }
    const { access_token } = await s.register('alice')
    assertPlainError(
      await s.api('POST', '/auth/password', { token: access_token, raw: 'x', contentType: 'text/plain' }),
      415,
      'Unsupported Content-Type: send application/json',
      'UNSUPPORTED_MEDIA_TYPE',
    )
    const charset = await s.api('POST', '/auth/login', {
      raw: JSON.stringify({ username: 'alice', password: PASSWORD }),
      contentType: 'application/json; charset=utf-8',
    })
    assert.equal(charset.status, 200)
  })

  test('malformed JSON gets 400', async (t) => {
    const s = await startServer(t, {}, { dialect })
    for (const raw of ['{"username":', 'not json', '{"a":1}}', "{'a':1}"]) {
      assertPlainError(
        await s.api('POST', '/auth/login', { raw, contentType: 'application/json' }),
        400,
        'Malformed JSON in request body',
        'MALFORMED_JSON',
      )
    }
    assertPlainError(
      await s.api('POST', '/auth/login', { raw: '', contentType: 'application/json' }),
      400,
      'Request body is empty but Content-Type is application/json',
      'EMPTY_BODY',
    )
    const poisoned = await s.api('POST', '/auth/register', {
      raw: '{"username":"alice","password":"correct horse","__proto__":{"admin":true}}',
      contentType: 'application/json',
    })
    assert.equal(poisoned.status, 400)
    assert.deepEqual(Object.keys(poisoned.body), ['msg', 'code'])
  })

  test('wrong JSON types get 400 naming the field', async (t) => {
    const s = await startServer(t, {}, { dialect })
    for (const [body, msg, code, field] of [
      [{ username: true, password: PASSWORD }, 'Field username must be a string', 'INVALID_FIELD', 'username'],
      [{ username: 'alice', password: { a: 1 } }, 'Field password must be a string', 'INVALID_FIELD', 'password'],
      [{ username: 'alice' }, 'Missing field: password', 'MISSING_FIELD', 'password'],
      [42, 'Request body must be a JSON object', 'BODY_NOT_OBJECT', undefined],
      [[], 'Request body must be a JSON object', 'BODY_NOT_OBJECT', undefined],
    ] as const) {
      assertPlainError(await s.api('POST', '/auth/login', { body }), 400, msg, code, field)
    }
  })

  test('unknown routes and methods get 404 as JSON', async (t) => {
    const s = await startServer(t, {}, { dialect })
    for (const [method, path] of [
      ['GET', '/nope'],
      ['GET', '/auth/login'],
      ['POST', '/auth/me'],
      ['PUT', '/auth/register'],
      ['POST', '/'],
      ['GET', '/index.html'],
      ['GET', '/assets'],
      ['GET', '/admin'],
    ]) {
      assertPlainError(await s.api(method!, path!), 404, 'Not Found', 'NOT_FOUND')
    }
  })

  test('an unexpected failure is a 500 with a fixed message, logged but not shown', async (t) => {
    const { url, dir } = await testDatabaseUrl(t, dialect)
    const db = openDatabase(url)
    const s = await startServer(t, {}, { dialect, db, dir })
    await s.register('alice')
    await db.destroy()
    const res = await s.api('POST', '/auth/login', { body: { username: 'alice', password: PASSWORD } })
    assertPlainError(res, 500, 'Internal Server Error', 'INTERNAL_ERROR')
    assert.ok(s.logLines().some((l) => l.level === 50 && l.msg === 'request failed'))
  })

  test("every error route answers a stable code beside msg; keycard's token errors keep FJE's msg and add their KEYCARD_* code", async (t) => {
    const s = await startServer(t, {}, { dialect })
    const { access_token, refresh_token } = await s.register('alice')
    const bob = await s.register('bob')
    const cases: [string, string, RequestOptions, number, Record<string, unknown>][] = [
      [
        'POST',
        '/auth/login',
        { body: { username: 'alice', password: 'wrong password' } },
        401,
        { msg: 'Bad username or password', code: 'BAD_CREDENTIALS' },
      ],
      [
        'POST',
        '/auth/register',
        { body: { username: 'alice', password: PASSWORD } },
        409,
        { msg: 'Username is already taken', code: 'USER_EXISTS', field: 'username' },
      ],
      ['POST', '/auth/register', { body: { username: 'al', password: PASSWORD } }, 400, { code: 'INVALID_FIELD', field: 'username' }],
      [
        'POST',
        '/auth/login',
        { body: { username: 'alice', password: PASSWORD }, headers: { 'x-token-mode': 'both' } },
        400,
        { code: 'INVALID_TOKEN_MODE' },
      ],
      ['GET', '/auth/me', {}, 401, { code: 'KEYCARD_NO_AUTHORIZATION' }],
      ['GET', '/auth/me', { token: 'abc' }, 422, { msg: 'Not enough segments', code: 'KEYCARD_JWT_MALFORMED' }],
      ['GET', '/auth/me', { token: refresh_token }, 422, { msg: 'Only non-refresh tokens are allowed', code: 'KEYCARD_WRONG_TOKEN_TYPE' }],
      ['POST', '/auth/refresh', { token: access_token }, 422, { msg: 'Only refresh tokens are allowed', code: 'KEYCARD_WRONG_TOKEN_TYPE' }],
      ['DELETE', '/auth/tokens/nope', { token: access_token }, 404, { msg: 'Session not found', code: 'SESSION_NOT_FOUND' }],
      [
        'POST',
        '/auth/password',
        { token: access_token, body: { new_password: 'short' } },
        400,
        { code: 'INVALID_FIELD', field: 'new_password' },
      ],
      ['GET', '/admin/users', { token: access_token }, 403, { msg: 'Admin access required', code: 'ADMIN_REQUIRED' }],
      ['GET', '/auth/verify', { token: 'abc' }, 401, { msg: 'Not enough segments', code: 'KEYCARD_JWT_MALFORMED' }],
      ['POST', '/auth/logout', { token: bob.access_token }, 200, { msg: 'Successfully logged out' }],
      ['GET', '/auth/me', { token: bob.access_token }, 401, { msg: 'Token has been revoked', code: 'KEYCARD_TOKEN_REVOKED' }],
    ]
    for (const [method, path, options, status, expected] of cases) {
      const res = await s.api(method, path, options)
      const label = `${method} ${path} ${JSON.stringify(expected)}`
      assert.equal(res.status, status, label)
      for (const [key, value] of Object.entries(expected)) assert.deepEqual(res.body[key], value, label)
      assert.equal(typeof res.body.msg, 'string', label)
    }
  })
})
