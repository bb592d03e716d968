/**
 * `checkRequestResult`, the adapters' call: every refusal `checkRequest` throws (or rejects with) is
 * returned (or resolved) instead, the same class, code, status and message; accepted requests give the
 * same context; and what is not the token's fault (a failing revocation loader) still throws or
 * rejects. `checkRequest` and `decodeToken` keep throwing.
 */

import assert from 'node:assert/strict'
import { test } from 'node:test'
import {
  createKeycard,
  ExpiredSignatureError,
  FreshTokenRequiredError,
  InvalidHeaderError,
  JWTDecodeError,
  MemoryRevocationStore,
  NoAuthorizationError,
  RevokedTokenError,
  TokenError,
  WrongTokenError,
  type CheckResult,
  type RequestView,
} from 'keycard'

const SECRET = 'check-result-secret-0123456789abcdef'

function view(authorization: string | undefined, method = 'GET'): RequestView {
  return { method, header: (name) => (name === 'authorization' ? authorization : undefined) }
}

/** What `checkRequest` does with the same request: its value, or what it threw or rejected with. */
async function thrownBy(run: () => unknown): Promise<unknown> {
  try {
    return await run()
  } catch (err) {
    return err
  }
}

function resign(token: string): string {
  const at = token.lastIndexOf('.') + 1
  return `${token.slice(0, at)}${token[at] === 'A' ? 'B' : 'A'}${token.slice(at + 1)}`
}

test('each refusal is returned, as the same error checkRequest throws', async (t) => {
  t.mock.timers.enable({ apis: ['Date'], now: Date.now() })
  const store = new MemoryRevocationStore()
  const keycard = await createKeycard({ secret: SECRET, accessTokenExpires: 60, revocationStore: store })
  const access = await keycard.createAccessToken('7')
  const refresh = await keycard.createRefreshToken('7')
  const expiring = await keycard.createAccessToken('7', { expiresIn: 1 })
  const revoked = await keycard.createAccessToken('7')
  await keycard.revokeToken(await keycard.decodeToken(revoked))
  t.mock.timers.tick(2000)

  const cases: {
    name: string
    req: RequestView
    options?: Parameters<typeof keycard.checkRequestResult>[1]
    want: abstract new (...args: never[]) => TokenError
    msg: string
  }[] = [
    { name: 'no header', req: view(undefined), want: NoAuthorizationError, msg: 'Missing Authorization Header' },
    { name: 'garbage', req: view('Bearer garbage'), want: JWTDecodeError, msg: 'Not enough segments' },
    { name: 'bad signature', req: view(`Bearer ${resign(access)}`), want: JWTDecodeError, msg: 'Signature verification failed' },
    { name: 'expired', req: view(`Bearer ${expiring}`), want: ExpiredSignatureError, msg: 'Token has expired' },
    { name: 'revoked', req: view(`Bearer ${revoked}`), want: RevokedTokenError, msg: 'Token has been revoked' },
    {
      name: 'refresh token on an access route',
      req: view(`Bearer ${refresh}`),
      want: WrongTokenError,
      msg: 'Only non-refresh tokens are allowed',
    },
    {
      name: 'not fresh',
      req: view(`Bearer ${access}`),
      options: { fresh: true },
      want: FreshTokenRequiredError,
      msg: 'Fresh token required',
    },
    {
      name: 'a third word after 16 KiB of spaces',
      req: view(`Bearer x${' '.repeat(16 * 1024)}y`),
      want: InvalidHeaderError,
      msg: "Bad Authorization header. Expected 'Authorization: Bearer <JWT>'",
    },
    {
      name: 'two headers',
      req: { method: 'GET', header: (name) => (name === 'authorization' ? [`Bearer ${access}`, `Bearer ${access}`] : undefined) },
      want: InvalidHeaderError,
      msg: "Bad Authorization header. Expected 'Authorization: Bearer <JWT>'",
    },
  ]
  for (const c of cases) {
    const result = keycard.checkRequestResult(c.req, c.options)
    assert.ok(!(result instanceof Promise), `${c.name}: synchronous`)
    assert.ok(result instanceof c.want, `${c.name}: got ${String(result)}`)
    const error = result as TokenError
    assert.equal(error.message, c.msg, c.name)
    const thrown = await thrownBy(() => keycard.checkRequest(c.req, c.options))
    assert.ok(thrown instanceof c.want, `${c.name}: checkRequest throws it`)
    assert.deepEqual(
      [error.code, error.status, error.kind],
      [(thrown as TokenError).code, (thrown as TokenError).status, (thrown as TokenError).kind],
    )
    assert.deepEqual(keycard.renderError(error), keycard.renderError(thrown as TokenError), `${c.name}: same answer`)
  }
})

test('an accepted token gives the context checkRequest gives; OPTIONS and an optional route without a token give null', async () => {
  const keycard = await createKeycard({ secret: SECRET })
  const token = await keycard.createAccessToken('7')
  const result = keycard.checkRequestResult(view(`Bearer ${token}`)) as CheckResult<unknown>
  assert.ok(result !== null && !(result instanceof TokenError))
  assert.equal(result.identity, '7')
  assert.equal(result.location, 'headers')
  assert.deepEqual(result, keycard.checkRequest(view(`Bearer ${token}`)))
  assert.equal(keycard.checkRequestResult(view('Bearer garbage', 'OPTIONS')), null)
  assert.equal(keycard.checkRequestResult(view(undefined), { optional: true }), null)
  // An optional route still refuses a bad token that is there.
  assert.ok(keycard.checkRequestResult(view('Bearer garbage'), { optional: true }) instanceof JWTDecodeError)
})

test('asynchronous checks resolve to the refusal; a failing loader still rejects', async () => {
  const revoked = new Set<string>()
  const keycard = await createKeycard({
    secret: SECRET,
    tokenInBlocklist: async (_header, claims) => {
      if (claims.sub === 'broken') throw new Error('blocklist unavailable')
      return revoked.has(claims.jti as string)
    },
  })
  const token = await keycard.createAccessToken('7')
  revoked.add((await keycard.decodeToken(token)).jti as string)
  const pending = keycard.checkRequestResult(view(`Bearer ${token}`))
  assert.ok(pending instanceof Promise)
  assert.ok((await pending) instanceof RevokedTokenError)
  await assert.rejects(Promise.resolve(keycard.checkRequest(view(`Bearer ${token}`))), RevokedTokenError)

  const broken = await keycard.createAccessToken('broken')
  const failing = keycard.checkRequestResult(view(`Bearer ${broken}`))
  await assert.rejects(Promise.resolve(failing), /blocklist unavailable/)
})

test('decodeToken still throws the refusal', async () => {
  const keycard = await createKeycard({ secret: SECRET })
  await assert.rejects(
    keycard.decodeToken('garbage'),
    (err: unknown) => err instanceof JWTDecodeError && err.message === 'Not enough segments',
  )
  const token = await keycard.createAccessToken('7')
  await assert.rejects(keycard.decodeToken(resign(token)), { message: 'Signature verification failed' })
  assert.throws(() => keycard.getUnverifiedHeader('garbage'), JWTDecodeError)
})
