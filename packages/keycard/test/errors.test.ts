/**
 * Token errors (answers to bad input on the request path) carry no stack trace; every other keycard
 * error (a misconfiguration, a misuse) keeps its own, and the process's Error.stackTraceLimit is left
 * as it was. Every code has one exported class, listed in the README's error table with its
 * Flask-JWT-Extended name, and those names are exports too.
 */

import assert from 'node:assert/strict'
import { readFileSync } from 'node:fs'
import { test } from 'node:test'
import * as api from 'keycard'
import {
  createKeycard,
  CSRFError,
  ExpiredSignatureError,
  FreshTokenRequiredError,
  IdentityError,
  InvalidHeaderError,
  InvalidQueryParamError,
  isKeycardError,
  isTokenError,
  JWTDecodeError,
  KeycardError,
  JwksUnavailableError,
  KeycardOptionError,
  NoAuthorizationError,
  RevokedTokenError,
  TokenError,
  UserClaimsVerificationError,
  UserLookupError,
  WrongTokenError,
  type AnyKeycardError,
  type KeycardErrorCode,
} from 'keycard'

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

// ---- codes, classes and Flask-JWT-Extended's names -------------------------------------------------

const README = readFileSync(new URL('../README.md', import.meta.url), 'utf8')

interface ErrorRow {
  code: string
  cls: string
  /** The backticked names in the Flask-JWT-Extended column. */
  fje: string[]
}

/** The rows of the README's error table (`| code | class | status | default message | Flask-JWT-Extended | how to solve |`). */
function errorTable(): ErrorRow[] {
  const section = README.slice(README.indexOf('\n## Errors\n'), README.indexOf('\n## From Flask-JWT-Extended'))
  const lines = section.split('\n').filter((l) => l.startsWith('| `KEYCARD_'))
  assert.ok(
    section.includes('| code | class | status | default message | Flask-JWT-Extended | how to solve |'),
    'the table keeps its columns',
  )
  return lines.map((line) => {
    const cells = line.split(' | ')
    const names = (cell: string) => [...cell.matchAll(/`([^`]+)`/g)].map((m) => m[1]!)
    return { code: names(cells[0]!)[0]!, cls: names(cells[1]!)[0]!, fje: names(cells[4]!) }
  })
}

/** One error of every code, made as keycard makes it; the type makes the list complete. */
const header = { alg: 'HS256' }
const claims = { sub: '42' }
const SAMPLES: { [C in KeycardErrorCode]: Extract<AnyKeycardError, { code: C }> } = {
  KEYCARD_NO_AUTHORIZATION: new NoAuthorizationError('Missing Authorization Header'),
  KEYCARD_INVALID_HEADER: new InvalidHeaderError("Bad Authorization header. Expected 'Authorization: Bearer <JWT>'"),
  KEYCARD_INVALID_QUERY_PARAM: new InvalidQueryParamError(
    "Invalid value for query parameter 'jwt'. Expected the value to start with 'Bearer '",
  ),
  KEYCARD_CSRF: new CSRFError('Missing CSRF token'),
  KEYCARD_JWT_MALFORMED: new JWTDecodeError('KEYCARD_JWT_MALFORMED', 'Not enough segments'),
  KEYCARD_JWT_TOO_LARGE: new JWTDecodeError('KEYCARD_JWT_TOO_LARGE', 'Token is too large (over 8192 characters)'),
  KEYCARD_JWT_ALG_NOT_ALLOWED: new JWTDecodeError('KEYCARD_JWT_ALG_NOT_ALLOWED', 'The specified alg value is not allowed'),
  KEYCARD_JWT_KID_MISSING: new JWTDecodeError(
    'KEYCARD_JWT_KID_MISSING',
    'The token has no "kid" header; this keycard needs it to pick the key',
  ),
  KEYCARD_JWT_KID_UNKNOWN: new JWTDecodeError('KEYCARD_JWT_KID_UNKNOWN', 'The token\'s "kid" does not match any known key'),
  KEYCARD_JWT_SIGNATURE_INVALID: new JWTDecodeError('KEYCARD_JWT_SIGNATURE_INVALID', 'Signature verification failed'),
  KEYCARD_JWT_NOT_YET_VALID: new JWTDecodeError('KEYCARD_JWT_NOT_YET_VALID', 'The token is not yet valid (nbf)', 'nbf'),
  KEYCARD_JWT_EXPIRED: new ExpiredSignatureError(header, claims),
  KEYCARD_JWT_CLAIM_INVALID: new JWTDecodeError('KEYCARD_JWT_CLAIM_INVALID', 'Subject must be a string', 'sub'),
  KEYCARD_WRONG_TOKEN_TYPE: new WrongTokenError('Only refresh tokens are allowed', header, claims),
  KEYCARD_FRESH_TOKEN_REQUIRED: new FreshTokenRequiredError(header, claims),
  KEYCARD_TOKEN_REVOKED: new RevokedTokenError(header, claims),
  KEYCARD_USER_LOOKUP_FAILED: new UserLookupError('42', header, claims),
  KEYCARD_CLAIMS_VERIFICATION_FAILED: new UserClaimsVerificationError(header, claims),
  KEYCARD_OPTION_INVALID: new KeycardOptionError('secret', 'too short.'),
  KEYCARD_IDENTITY_INVALID: new IdentityError('The identity must be a non-empty string'),
  KEYCARD_NO_CONTEXT: new KeycardError('KEYCARD_NO_CONTEXT', 'No verified token on this request'),
  KEYCARD_JWKS_UNAVAILABLE: new JwksUnavailableError('https://auth.example.com/.well-known/jwks.json', 'HTTP 500', 30),
}

test('the README error table has one row per code, naming the exported class that carries it', () => {
  const rows = errorTable()
  assert.deepEqual(rows.map((r) => r.code).sort(), Object.keys(SAMPLES).sort())
  for (const row of rows) {
    const cls = (api as Record<string, unknown>)[row.cls]
    assert.equal(typeof cls, 'function', `${row.cls} is exported`)
    const sample = SAMPLES[row.code as KeycardErrorCode]
    assert.ok(sample instanceof (cls as typeof KeycardError), `${row.code} is a ${row.cls}`)
    assert.equal(sample.code, row.code)
  }
})

test('every Flask-JWT-Extended name in the README table is an export of keycard, a keycard error class', () => {
  const names = new Set(
    errorTable()
      .flatMap((r) => r.fje)
      .filter((n) => !n.startsWith('jwt.')),
  )
  assert.ok(names.size >= 10, `the table names FJE's exceptions (${[...names].join(', ')})`)
  for (const name of names) {
    const cls = (api as Record<string, unknown>)[name]
    assert.equal(typeof cls, 'function', `${name} is exported from keycard`)
    assert.ok((cls as { prototype: unknown }).prototype instanceof KeycardError, `${name} is a KeycardError`)
  }
})

test('every exception of flask_jwt_extended.exceptions is exported under its name, and named in the README', () => {
  const fje = [
    'JWTExtendedException',
    'JWTDecodeError',
    'InvalidHeaderError',
    'InvalidQueryParamError',
    'NoAuthorizationError',
    'CSRFError',
    'WrongTokenError',
    'RevokedTokenError',
    'FreshTokenRequired',
    'UserLookupError',
    'UserClaimsVerificationError',
  ]
  const section = README.slice(README.indexOf('\n## Errors\n'), README.indexOf('\n## From Flask-JWT-Extended'))
  for (const name of fje) {
    assert.equal(typeof (api as Record<string, unknown>)[name], 'function', `${name} is exported`)
    assert.ok(section.includes(`\`${name}\``), `${name} is in the README's Errors section`)
  }
  assert.equal(api.JWTExtendedException, TokenError)
  assert.equal(api.FreshTokenRequired, FreshTokenRequiredError)
  assert.ok(SAMPLES.KEYCARD_FRESH_TOKEN_REQUIRED instanceof api.FreshTokenRequired)
  assert.ok(SAMPLES.KEYCARD_JWT_EXPIRED instanceof api.JWTExtendedException)
  assert.ok(
    !(SAMPLES.KEYCARD_OPTION_INVALID instanceof api.JWTExtendedException),
    'option errors are not request errors (FJE raises RuntimeError)',
  )
})

test('a query-parameter error is an InvalidQueryParamError and an InvalidHeaderError, however it was made', () => {
  const made = new InvalidQueryParamError('bad prefix')
  const old = new InvalidHeaderError('bad prefix', 'KEYCARD_INVALID_QUERY_PARAM')
  for (const err of [made, old]) {
    assert.ok(err instanceof InvalidQueryParamError && err instanceof InvalidHeaderError && err instanceof TokenError)
    assert.deepEqual(
      { code: err.code, status: err.status, kind: err.kind },
      { code: 'KEYCARD_INVALID_QUERY_PARAM', status: 422, kind: 'invalid' },
    )
  }
  assert.equal(made.name, 'InvalidQueryParamError')
  assert.ok(!(new InvalidHeaderError('bad header') instanceof InvalidQueryParamError))
  assert.ok(!({ code: 'KEYCARD_INVALID_QUERY_PARAM' } instanceof InvalidQueryParamError))
})

test('isKeycardError and isTokenError tell keycard errors, token errors and others apart', () => {
  for (const sample of Object.values(SAMPLES)) {
    assert.equal(isKeycardError(sample), true)
    assert.equal(isTokenError(sample), sample instanceof TokenError)
  }
  assert.equal(isTokenError(SAMPLES.KEYCARD_OPTION_INVALID), false)
  assert.equal(isKeycardError(new Error('x')), false)
  assert.equal(isKeycardError({ code: 'KEYCARD_JWT_EXPIRED' }), false)
})
