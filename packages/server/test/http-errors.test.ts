/** Body limits, content types, malformed JSON, wrong JSON types, unknown routes, 500s: all {"msg"}, no stack traces. */

import assert from 'node:assert/strict'
import { test } from 'node:test'
import { openDatabase } from '../src/db/database.ts'
import { PASSWORD, startServer, tempDir, type Reply } from './helpers.ts'
import { join } from 'node:path'

function assertPlainError(res: Reply, status: number, msg: string) {
  assert.equal(res.status, status, res.text)
  assert.match(res.headers.get('content-type') ?? '', /^application\/json/)
  assert.deepEqual(res.body, { msg })
  assert.doesNotMatch(res.text, /\bat .*\(|node_modules|\.ts:\d+|stack/i)
}

test('a body over 64 KiB gets 413', async (t) => {
  const s = await startServer(t)
  const big = JSON.stringify({ username: 'alice', password: 'x'.repeat(65 * 1024) })
  assertPlainError(await s.api('POST', '/auth/register', { raw: big, contentType: 'application/json' }), 413, 'Request body is too large (limit 65536 bytes)')
  const { access_token } = await s.register('alice')
  assertPlainError(await s.api('POST', '/auth/password', { token: access_token, raw: big, contentType: 'application/json' }), 413, 'Request body is too large (limit 65536 bytes)')
})

test('a content type other than JSON gets 415', async (t) => {
  const s = await startServer(t)
  for (const contentType of ['text/plain', 'application/x-www-form-urlencoded', 'multipart/form-data; boundary=x', 'application/xml']) {
    assertPlainError(await s.api('POST', '/auth/login', { raw: 'username=alice', contentType }), 415, 'Unsupported Content-Type: send application/json')
  }
  const { access_token } = await s.register('alice')
  assertPlainError(await s.api('POST', '/auth/password', { token: access_token, raw: 'x', contentType: 'text/plain' }), 415, 'Unsupported Content-Type: send application/json')
  const charset = await s.api('POST', '/auth/login', { raw: JSON.stringify({ username: 'alice', password: PASSWORD }), contentType: 'application/json; charset=utf-8' })
  assert.equal(charset.status, 200)
})

test('malformed JSON gets 400', async (t) => {
  const s = await startServer(t)
  for (const raw of ['{"username":', 'not json', '{"a":1}}', "{'a':1}"]) {
    assertPlainError(await s.api('POST', '/auth/login', { raw, contentType: 'application/json' }), 400, 'Malformed JSON in request body')
  }
  assertPlainError(await s.api('POST', '/auth/login', { raw: '', contentType: 'application/json' }), 400, 'Request body is empty but Content-Type is application/json')
  const poisoned = await s.api('POST', '/auth/register', { raw: '{"username":"alice","password":"correct horse","__proto__":{"admin":true}}', contentType: 'application/json' })
  assert.equal(poisoned.status, 400)
  assert.deepEqual(Object.keys(poisoned.body), ['msg'])
})

test('wrong JSON types get 400 naming the field', async (t) => {
  const s = await startServer(t)
  for (const [body, msg] of [
    [{ username: true, password: PASSWORD }, 'Field username must be a string'],
    [{ username: 'alice', password: { a: 1 } }, 'Field password must be a string'],
    [42, 'Request body must be a JSON object'],
    [[], 'Request body must be a JSON object'],
  ] as const) {
    assertPlainError(await s.api('POST', '/auth/login', { body }), 400, msg)
  }
})

test('unknown routes and methods get 404 as JSON', async (t) => {
  const s = await startServer(t)
  for (const [method, path] of [['GET', '/nope'], ['GET', '/auth/login'], ['POST', '/auth/me'], ['PUT', '/auth/register'], ['POST', '/'], ['GET', '/index.html'], ['GET', '/assets'], ['GET', '/admin']]) {
    assertPlainError(await s.api(method!, path!), 404, 'Not Found')
  }
})

test('an unexpected failure is a 500 with a fixed message, logged but not shown', async (t) => {
  const dir = tempDir(t)
  const db = openDatabase(join(dir, 'own.db'))
  const s = await startServer(t, {}, { db, dir })
  await s.register('alice')
  await db.destroy()
  const res = await s.api('POST', '/auth/login', { body: { username: 'alice', password: PASSWORD } })
  assertPlainError(res, 500, 'Internal Server Error')
  assert.ok(s.logLines().some((l) => l.level === 50 && l.msg === 'request failed'))
})
