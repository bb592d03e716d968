/**
 * Token errors (answers to bad input on the request path) carry no stack trace; every other keycard
 * error (a misconfiguration, a misuse) keeps its own, and the process's Error.stackTraceLimit is left
 * as it was.
 */

import assert from 'node:assert/strict'
import { test } from 'node:test'
import {
  createKeycard,
  ExpiredSignatureError,
  KeycardError,
  KeycardOptionError,
  NoAuthorizationError,
  TokenError,
} from '../src/index.ts'

const SECRET = 'x'.repeat(32)

test('a token error has its name, message and code, and no stack frames', async (t) => {
  t.mock.timers.enable({ apis: ['Date'], now: Date.now() })
  const keycard = await createKeycard({ secret: SECRET, accessTokenExpires: 1 })
  const token = await keycard.createAccessToken('alice')
  t.mock.timers.tick(5_000)
  let caught: unknown
  try {
    await keycard.decodeToken(token)
  } catch (err) {
    caught = err
  }
  assert.ok(caught instanceof ExpiredSignatureError)
  assert.ok(caught instanceof TokenError && caught instanceof KeycardError && caught instanceof Error)
  assert.equal(caught.code, 'KEYCARD_JWT_EXPIRED')
  assert.equal(caught.message, 'Token has expired')
  assert.equal(caught.stack, 'ExpiredSignatureError: Token has expired')
  assert.equal(caught.claims?.sub, 'alice')

  const missing = new NoAuthorizationError('Missing Authorization Header')
  assert.equal(missing.stack, 'NoAuthorizationError: Missing Authorization Header')
})

test('other keycard errors keep their stack, and Error.stackTraceLimit is restored', async () => {
  const before = Error.stackTraceLimit
  await assert.rejects(createKeycard({ secret: 'short' }), (err: unknown) => {
    assert.ok(err instanceof KeycardOptionError)
    assert.match(err.stack ?? '', /\n\s+at /)
    return true
  })
  new NoAuthorizationError('x')
  assert.equal(Error.stackTraceLimit, before)
  const plain = new Error('after')
  assert.match(plain.stack ?? '', /\n\s+at /, 'ordinary errors still capture stacks')
})
