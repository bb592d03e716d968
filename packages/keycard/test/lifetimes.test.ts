/**
 * Token lifetimes, minted and verified by the same keycard: whatever `createAccessToken` and
 * `createRefreshToken` mint, that keycard verifies. `expiresIn: false` (FJE `expires_delta=False`, no
 * `exp`) is refused at mint, saying how, when strict verification would refuse the token; accepted
 * when the type's lifetime is `false` or `strict` is off, as in Flask-JWT-Extended. The clock is frozen.
 */

import assert from 'node:assert/strict'
import { mock, test, type TestContext } from 'node:test'
import { createKeycard, KeycardOptionError, type KeycardOptions, type RequestView } from 'keycard'

const SECRET = 'lifetimes-test-secret-0123456789-abcdef'
const NOW = 1_795_349_405_000

function frozenClock(t: TestContext): void {
  mock.timers.enable({ apis: ['Date'], now: NOW })
  t.after(() => mock.timers.reset())
}

const kc = (options: Partial<KeycardOptions> = {}) => createKeycard({ secret: SECRET, ...options })
const bearer = (token: string): RequestView => ({
  method: 'GET',
  header: (name) => (name === 'authorization' ? `Bearer ${token}` : undefined),
})
const claimsOf = (token: string) => JSON.parse(Buffer.from(token.split('.')[1]!, 'base64url').toString('utf8')) as Record<string, unknown>

const refusal = (type: 'access' | 'refresh', option: string, seconds: number) =>
  `keycard option "expiresIn": false mints a ${type} token without "exp", which strict mode (the default) refuses while ${option} is ${seconds} seconds. ` +
  `Pass a duration such as '365d'; or set ${option}: false to mint and accept ${type} tokens that never expire; or strict: false to accept tokens without "exp" from any issuer, as Flask-JWT-Extended does.`

test('strict mode with expiring tokens refuses expiresIn: false at mint, saying how to get a token that never expires', async () => {
  const keycard = await kc()
  await assert.rejects(keycard.createAccessToken('42', { expiresIn: false }), (err: unknown) => {
    assert.ok(err instanceof KeycardOptionError)
    assert.deepEqual(
      { code: err.code, option: err.option, message: err.message },
      {
        code: 'KEYCARD_OPTION_INVALID',
        option: 'expiresIn',
        message: refusal('access', 'accessTokenExpires', 900),
      },
    )
    return true
  })
  await assert.rejects(keycard.createRefreshToken('42', { expiresIn: false }), {
    code: 'KEYCARD_OPTION_INVALID',
    option: 'expiresIn',
    message: refusal('refresh', 'refreshTokenExpires', 2_592_000),
  })
  // The verifying side is unchanged: an exp-less token from another issuer with the same key is refused.
  const lenient = await kc({ strict: false })
  const foreign = await lenient.createAccessToken('42', { expiresIn: false })
  await assert.rejects(keycard.decodeToken(foreign), { code: 'KEYCARD_JWT_CLAIM_INVALID', message: 'Token is missing the "exp" claim' })
})

test('a type whose lifetime is false mints without exp, and the same strict keycard accepts it, for good', async (t) => {
  frozenClock(t)
  const keycard = await kc({ accessTokenExpires: false })
  const tokens = [await keycard.createAccessToken('42'), await keycard.createAccessToken('42', { expiresIn: false })]
  for (const token of tokens) assert.equal('exp' in claimsOf(token), false)
  // The refresh lifetime is still 30 days: expiresIn: false on a refresh token is still refused.
  assert.equal(claimsOf(await keycard.createRefreshToken('42')).exp, Math.floor(NOW / 1000) + 2_592_000)
  await assert.rejects(keycard.createRefreshToken('42', { expiresIn: false }), {
    option: 'expiresIn',
    message: refusal('refresh', 'refreshTokenExpires', 2_592_000),
  })
  mock.timers.tick(10 * 365 * 86_400_000)
  for (const token of tokens) {
    assert.equal((await keycard.decodeToken(token)).sub, '42')
    assert.equal((await keycard.verifyJwtInRequest(bearer(token)))?.identity, '42')
  }
})

test('strict: false mints expiresIn: false without exp and accepts it, as Flask-JWT-Extended (expires_delta=False)', async (t) => {
  frozenClock(t)
  const keycard = await kc({ strict: false })
  const access = await keycard.createAccessToken('42', { expiresIn: false })
  const refresh = await keycard.createRefreshToken('42', { expiresIn: false })
  assert.equal('exp' in claimsOf(access), false)
  assert.equal('exp' in claimsOf(refresh), false)
  mock.timers.tick(10 * 365 * 86_400_000)
  assert.equal((await keycard.verifyJwtInRequest(bearer(access)))?.identity, '42')
  assert.equal((await keycard.verifyJwtInRequest(bearer(refresh), { refresh: true }))?.claims.type, 'refresh')
})

test('expiresIn as a duration overrides the lifetime either way, and the token expires when it says', async (t) => {
  for (const options of [{}, { accessTokenExpires: false as const }]) {
    frozenClock(t)
    const keycard = await kc(options)
    const token = await keycard.createAccessToken('42', { expiresIn: '1h' })
    assert.equal(claimsOf(token).exp, Math.floor(NOW / 1000) + 3600)
    assert.equal((await keycard.decodeToken(token)).sub, '42')
    mock.timers.tick(3600_000)
    await assert.rejects(keycard.decodeToken(token), { code: 'KEYCARD_JWT_EXPIRED', message: 'Token has expired' })
    mock.timers.reset()
  }
})
