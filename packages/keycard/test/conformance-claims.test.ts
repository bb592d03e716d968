/**
 * Conformance, part 3: the claim checks (times, iss, aud, sub, jti, identity), token type and
 * freshness, revocation, the verification and user-lookup loaders, and the order in which
 * Flask-JWT-Extended/PyJWT run them, over real HTTP for both adapters; plus the errors thrown directly
 * by `decodeToken` and `verifyJwtInRequest`.
 */

import { describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { createKeycard, MemoryRevocationStore, type JwtClaims, type KeycardError } from 'keycard'
import { ADAPTERS, call, claims, expectError, expectOk, now, OTHER_SECRET, SECRET, sign, startApp } from './harness.ts'

/** Claims whose `exp` is in the past (and iat/nbf well before it). */
const expired = (overrides: Record<string, unknown> = {}) => claims({ iat: now() - 3600, nbf: now() - 3600, exp: now() - 60, ...overrides })

for (const adapter of ADAPTERS) {
  describe(`${adapter}: time claims`, () => {
    test('an iat in the future is 422 "The token is not yet valid (iat)"', async (t) => {
      const { url } = await startApp(t, adapter, { secret: SECRET })
      expectError(
        await call(url, '/protected', { token: await sign(claims({ iat: now() + 60, nbf: undefined })) }),
        422,
        'The token is not yet valid (iat)',
      )
    })

    test('an nbf in the future is 422 "The token is not yet valid (nbf)"', async (t) => {
      const { url } = await startApp(t, adapter, { secret: SECRET })
      expectError(
        await call(url, '/protected', { token: await sign(claims({ nbf: now() + 60 })) }),
        422,
        'The token is not yet valid (nbf)',
      )
    })

    test('leeway lets a slightly future iat and nbf pass, but not beyond it', async (t) => {
      const { url } = await startApp(t, adapter, { secret: SECRET, leeway: '2m' })
      expectOk(await call(url, '/protected', { token: await sign(claims({ iat: now() + 60, nbf: now() + 60 })) }))
      expectError(
        await call(url, '/protected', { token: await sign(claims({ iat: now() + 600, nbf: now() + 600 })) }),
        422,
        'The token is not yet valid (iat)',
      )
      expectError(
        await call(url, '/protected', { token: await sign(claims({ nbf: now() + 600 })) }),
        422,
        'The token is not yet valid (nbf)',
      )
    })

    test('non-numeric iat, nbf and exp are 422 "… must be an integer."', async (t) => {
      const { url } = await startApp(t, adapter, { secret: SECRET })
      expectError(
        await call(url, '/protected', { token: await sign(claims({ iat: 'yesterday' })) }),
        422,
        'Issued At claim (iat) must be an integer.',
      )
      expectError(
        await call(url, '/protected', { token: await sign(claims({ nbf: 'now' })) }),
        422,
        'Not Before claim (nbf) must be an integer.',
      )
      expectError(
        await call(url, '/protected', { token: await sign(claims({ exp: 'soon' })) }),
        422,
        'Expiration Time claim (exp) must be an integer.',
      )
      expectError(
        await call(url, '/protected', { token: await sign(claims({ exp: null })) }),
        422,
        'Expiration Time claim (exp) must be an integer.',
      )
      expectError(
        await call(url, '/protected', { token: await sign(claims({ iat: [1] })) }),
        422,
        'Issued At claim (iat) must be an integer.',
      )
    })

    test("strict:false reads time claims as PyJWT's int(): numeric strings and booleans pass, other strings and null are 422", async (t) => {
      const { url } = await startApp(t, adapter, { secret: SECRET, strict: false })
      const n = now()
      const ctx = expectOk(
        await call(url, '/protected', { token: await sign(claims({ iat: String(n - 5), nbf: ` ${n - 5} `, exp: `+${n + 60}` })) }),
      )
      assert.equal(ctx.claims.exp, `+${n + 60}`)
      expectOk(
        await call(url, '/protected', {
          token: await sign(claims({ iat: true, nbf: false, exp: String(n + 60).replace(/^(\d)/, '$1_') })),
        }),
      )
      expectError(await call(url, '/protected', { token: await sign(claims({ exp: String(n - 60) })) }), 401, 'Token has expired')
      expectError(await call(url, '/protected', { token: await sign(claims({ exp: true })) }), 401, 'Token has expired')
      expectError(
        await call(url, '/protected', { token: await sign(claims({ nbf: String(n + 600) })) }),
        422,
        'The token is not yet valid (nbf)',
      )
      for (const exp of ['1.5e9', '1__0', '_1', '1_', '', ' ', '+', '0x10', '1 0', null, [1], { n: 1 }, '9'.repeat(4301)]) {
        expectError(
          await call(url, '/protected', { token: await sign(claims({ exp })) }),
          422,
          'Expiration Time claim (exp) must be an integer.',
        )
      }
      expectError(
        await call(url, '/protected', { token: await sign(claims({ iat: 'x' })) }),
        422,
        'Issued At claim (iat) must be an integer.',
      )
    })

    test('strict mode refuses numeric strings and booleans in time claims', async (t) => {
      const { url } = await startApp(t, adapter, { secret: SECRET })
      expectError(
        await call(url, '/protected', { token: await sign(claims({ exp: String(now() + 60) })) }),
        422,
        'Expiration Time claim (exp) must be an integer.',
      )
      expectError(
        await call(url, '/protected', { token: await sign(claims({ nbf: true })) }),
        422,
        'Not Before claim (nbf) must be an integer.',
      )
    })

    test("a fractional exp is truncated, as PyJWT's int() does", async (t) => {
      const { url } = await startApp(t, adapter, { secret: SECRET })
      // exp = now + 0.9 is in the future as a float, but int() makes it now: expired.
      const n = Date.now() / 1000
      expectError(
        await call(url, '/protected', {
          token: await sign(claims({ iat: Math.floor(n) - 10, nbf: Math.floor(n) - 10, exp: Math.floor(n) + 0.999 })),
        }),
        401,
        'Token has expired',
      )
    })

    test('fractional time claims are accepted, as PyJWT does', async (t) => {
      const { url } = await startApp(t, adapter, { secret: SECRET })
      expectOk(await call(url, '/protected', { token: await sign(claims({ iat: now() - 0.5, nbf: now() - 0.5, exp: now() + 60.25 })) }))
    })

    test('an expired token is 401 "Token has expired"', async (t) => {
      const { url } = await startApp(t, adapter, { secret: SECRET })
      expectError(await call(url, '/protected', { token: await sign(expired()) }), 401, 'Token has expired')
    })

    test('an expired token is still expired on its second use (the verified-token cache re-checks exp)', async (t) => {
      const { url } = await startApp(t, adapter, { secret: SECRET })
      // Only Date is frozen (keycard and jose read Date.now()); the HTTP calls keep their real timers.
      t.mock.timers.enable({ apis: ['Date'], now: Date.now() })
      const token = await sign(claims({ exp: now() + 2 }))
      expectOk(await call(url, '/protected', { token }))
      t.mock.timers.tick(2_100)
      expectError(await call(url, '/protected', { token }), 401, 'Token has expired')
    })

    test('leeway lets a recently expired token pass', async (t) => {
      const { url } = await startApp(t, adapter, { secret: SECRET, leeway: 120 })
      expectOk(await call(url, '/protected', { token: await sign(expired()) }))
      expectError(await call(url, '/protected', { token: await sign(expired({ exp: now() - 600 })) }), 401, 'Token has expired')
    })
  })

  describe(`${adapter}: iss, aud, sub, jti and the identity claim`, () => {
    test('a missing or wrong issuer is 422 when decodeIssuer is set', async (t) => {
      const { url } = await startApp(t, adapter, { secret: SECRET, decodeIssuer: ['https://a.example', 'https://b.example'] })
      expectError(await call(url, '/protected', { token: await sign(claims()) }), 422, 'Token is missing the "iss" claim')
      expectError(await call(url, '/protected', { token: await sign(claims({ iss: 'https://evil.example' })) }), 422, 'Invalid issuer')
      assert.equal(
        expectOk(await call(url, '/protected', { token: await sign(claims({ iss: 'https://b.example' })) })).claims.iss,
        'https://b.example',
      )
    })

    test('encodeIssuer puts iss in minted tokens, which then pass decodeIssuer', async (t) => {
      const { url, keycard } = await startApp(t, adapter, {
        secret: SECRET,
        encodeIssuer: 'https://a.example',
        decodeIssuer: 'https://a.example',
      })
      assert.equal(
        expectOk(await call(url, '/protected', { token: await keycard.createAccessToken('42') })).claims.iss,
        'https://a.example',
      )
    })

    test('a missing or wrong audience is 422 when decodeAudience is set; one match in a list is enough', async (t) => {
      const { url } = await startApp(t, adapter, { secret: SECRET, decodeAudience: ['api', 'admin'] })
      expectError(await call(url, '/protected', { token: await sign(claims()) }), 422, 'Token is missing the "aud" claim')
      expectError(await call(url, '/protected', { token: await sign(claims({ aud: 'web' })) }), 422, "Audience doesn't match")
      expectError(await call(url, '/protected', { token: await sign(claims({ aud: ['web', 'mobile'] })) }), 422, "Audience doesn't match")
      expectOk(await call(url, '/protected', { token: await sign(claims({ aud: 'admin' })) }))
      expectOk(await call(url, '/protected', { token: await sign(claims({ aud: ['web', 'api'] })) }))
    })

    test('aud is not checked when decodeAudience is unset', async (t) => {
      const { url } = await startApp(t, adapter, { secret: SECRET })
      expectOk(await call(url, '/protected', { token: await sign(claims({ aud: 'anything' })) }))
    })

    test('encodeAudience puts aud in minted tokens, which then pass decodeAudience', async (t) => {
      const { url, keycard } = await startApp(t, adapter, { secret: SECRET, encodeAudience: ['api', 'web'], decodeAudience: 'web' })
      assert.deepEqual(expectOk(await call(url, '/protected', { token: await keycard.createAccessToken('42') })).claims.aud, ['api', 'web'])
    })

    test('a non-string sub is 422 "Subject must be a string"', async (t) => {
      const { url } = await startApp(t, adapter, { secret: SECRET })
      for (const sub of [42, null, ['42'], { id: 42 }, true]) {
        expectError(await call(url, '/protected', { token: await sign(claims({ sub })) }), 422, 'Subject must be a string')
      }
    })

    test('verifySub:false with strict:false accepts an integer sub (legacy tokens)', async (t) => {
      const { url } = await startApp(t, adapter, { secret: SECRET, verifySub: false, strict: false })
      assert.equal(expectOk(await call(url, '/protected', { token: await sign(claims({ sub: 42 })) })).identity, 42)
    })

    test('verifySub:false governs sub in strict mode too, as in FJE', async (t) => {
      const { url } = await startApp(t, adapter, { secret: SECRET, verifySub: false })
      assert.equal(expectOk(await call(url, '/protected', { token: await sign(claims({ sub: 42 })) })).identity, 42)
    })

    test('a custom identity claim must be a string in strict mode', async (t) => {
      const { url } = await startApp(t, adapter, { secret: SECRET, identityClaim: 'user_id' })
      expectError(
        await call(url, '/protected', { token: await sign(claims({ user_id: 42 })) }),
        422,
        'Identity claim (user_id) must be a string',
      )
    })

    test('a non-string jti is 422 "JWT ID must be a string"', async (t) => {
      const { url } = await startApp(t, adapter, { secret: SECRET })
      for (const jti of [1, null, ['a']]) {
        expectError(await call(url, '/protected', { token: await sign(claims({ jti })) }), 422, 'JWT ID must be a string')
      }
    })

    test('a token without the identity claim is 422 "Missing claim: sub"', async (t) => {
      const { url } = await startApp(t, adapter, { secret: SECRET })
      expectError(await call(url, '/protected', { token: await sign(claims({ sub: undefined })) }), 422, 'Missing claim: sub')
    })

    test('a custom identityClaim is minted, read, and named when missing', async (t) => {
      const { url, keycard } = await startApp(t, adapter, { secret: SECRET, identityClaim: 'identity' })
      const minted = await keycard.createAccessToken('alice')
      const ctx = expectOk(await call(url, '/protected', { token: minted }))
      assert.deepEqual([ctx.identity, ctx.claims.identity, 'sub' in ctx.claims], ['alice', 'alice', false])
      expectError(await call(url, '/protected', { token: await sign(claims()) }), 422, 'Missing claim: identity')
      // sub is still checked by PyJWT's rule even when it is not the identity claim.
      expectError(
        await call(url, '/protected', { token: await sign(claims({ identity: 'bob', sub: 7 })) }),
        422,
        'Subject must be a string',
      )
    })
  })

  describe(`${adapter}: token type and freshness`, () => {
    test('a refresh token on an access route is 422 "Only non-refresh tokens are allowed"', async (t) => {
      const { url, keycard } = await startApp(t, adapter, { secret: SECRET })
      expectError(
        await call(url, '/protected', { token: await keycard.createRefreshToken('42') }),
        422,
        'Only non-refresh tokens are allowed',
      )
    })

    test('an access token on a refresh route is 422 "Only refresh tokens are allowed"', async (t) => {
      const { url, keycard } = await startApp(t, adapter, { secret: SECRET })
      expectError(
        await call(url, '/refresh', { token: await keycard.createAccessToken('42', { fresh: true }) }),
        422,
        'Only refresh tokens are allowed',
      )
      assert.equal(expectOk(await call(url, '/refresh', { token: await keycard.createRefreshToken('42') })).claims.type, 'refresh')
    })

    test('verifyType:false accepts both access and refresh tokens', async (t) => {
      const { url, keycard } = await startApp(t, adapter, { secret: SECRET })
      assert.equal(expectOk(await call(url, '/any', { token: await keycard.createAccessToken('42') })).claims.type, 'access')
      assert.equal(expectOk(await call(url, '/any', { token: await keycard.createRefreshToken('42') })).claims.type, 'refresh')
    })

    test('a fresh route refuses a non-fresh token with 401 "Fresh token required" and accepts a fresh one', async (t) => {
      const { url, keycard } = await startApp(t, adapter, { secret: SECRET })
      expectError(await call(url, '/fresh', { token: await keycard.createAccessToken('42') }), 401, 'Fresh token required')
      assert.equal(
        expectOk(await call(url, '/fresh', { token: await keycard.createAccessToken('42', { fresh: true }) })).claims.fresh,
        true,
      )
    })

    test('a token fresh for a duration passes while that duration lasts', async (t) => {
      const { url, keycard } = await startApp(t, adapter, { secret: SECRET })
      t.mock.timers.enable({ apis: ['Date'], now: 1_700_000_000_250 })
      const ctx = expectOk(await call(url, '/fresh', { token: await keycard.createAccessToken('42', { fresh: '10m' }) }))
      assert.equal(ctx.claims.fresh, 1_700_000_000.25 + 600)
      expectOk(await call(url, '/fresh', { token: await sign(claims({ fresh: now() + 30.5 })) }))
    })

    test('a token whose freshness ran out is 401 "Fresh token required", but still passes a non-fresh route', async (t) => {
      const { url } = await startApp(t, adapter, { secret: SECRET })
      const token = await sign(claims({ fresh: now() - 10.5 }))
      expectError(await call(url, '/fresh', { token }), 401, 'Fresh token required')
      expectOk(await call(url, '/protected', { token }))
    })

    test('only a boolean true or a future number is fresh', async (t) => {
      const { url } = await startApp(t, adapter, { secret: SECRET })
      for (const fresh of ['true', 1, null, {}]) {
        expectError(await call(url, '/fresh', { token: await sign(claims({ fresh })) }), 401, 'Fresh token required')
      }
    })
  })

  describe(`${adapter}: revocation and loaders`, () => {
    test('a token revoked through MemoryRevocationStore and keycard.revokeToken is 401 "Token has been revoked"', async (t) => {
      const store = new MemoryRevocationStore()
      t.after(() => store.close())
      const { url, keycard } = await startApp(t, adapter, { secret: SECRET, revocationStore: store })
      const token = await keycard.createAccessToken('42', { fresh: true })
      const other = await keycard.createAccessToken('42')
      const ctx = expectOk(await call(url, '/protected', { token }))
      await keycard.revokeToken(ctx.claims as JwtClaims)
      assert.equal(store.size, 1)
      expectError(await call(url, '/protected', { token }), 401, 'Token has been revoked')
      expectError(await call(url, '/fresh', { token }), 401, 'Token has been revoked')
      expectOk(await call(url, '/protected', { token: other }))
      // skipRevocationCheck lets it through.
      assert.equal(expectOk(await call(url, '/skip-revocation', { token })).claims.jti, ctx.claims.jti)
    })

    test('a refresh token revoked on the logout route is refused on the refresh route', async (t) => {
      const store = new MemoryRevocationStore()
      t.after(() => store.close())
      const { url, keycard } = await startApp(t, adapter, { secret: SECRET, revocationStore: store })
      const refresh = await keycard.createRefreshToken('42')
      await keycard.revokeToken(expectOk(await call(url, '/any', { token: refresh, method: 'DELETE' })).claims as JwtClaims)
      expectError(await call(url, '/refresh', { token: refresh }), 401, 'Token has been revoked')
    })

    test('an async tokenInBlocklist loader receives header and claims and can revoke', async (t) => {
      const seen: Array<[string, unknown]> = []
      const { url, keycard } = await startApp(t, adapter, {
        secret: SECRET,
        tokenInBlocklist: async (header, c) => {
          await new Promise(setImmediate) // truly asynchronous: the answer comes on a later turn of the event loop
          seen.push([header.alg, c.sub])
          return c.sub === 'mallory'
        },
      })
      expectError(await call(url, '/protected', { token: await keycard.createAccessToken('mallory') }), 401, 'Token has been revoked')
      expectOk(await call(url, '/protected', { token: await keycard.createAccessToken('alice') }))
      expectOk(await call(url, '/skip-revocation', { token: await keycard.createAccessToken('mallory') }))
      assert.deepEqual(seen, [
        ['HS256', 'mallory'],
        ['HS256', 'alice'],
      ])
    })

    test('tokenVerification returning false is 400 "User claims verification failed"', async (t) => {
      const { url, keycard } = await startApp(t, adapter, { secret: SECRET, tokenVerification: async (_h, c) => c.role === 'admin' })
      expectError(await call(url, '/protected', { token: await keycard.createAccessToken('42') }), 400, 'User claims verification failed')
      expectOk(await call(url, '/protected', { token: await keycard.createAccessToken('42', { additionalClaims: { role: 'admin' } }) }))
    })

    test('userLookup returning null is 401 "Error loading the user 42"', async (t) => {
      const { url, keycard } = await startApp(t, adapter, { secret: SECRET, userLookup: () => null })
      expectError(await call(url, '/protected', { token: await keycard.createAccessToken('42') }), 401, 'Error loading the user 42')
    })

    test('userLookup returning undefined is also a lookup error', async (t) => {
      const { url, keycard } = await startApp(t, adapter, { secret: SECRET, userLookup: async () => undefined })
      expectError(await call(url, '/protected', { token: await keycard.createAccessToken('42') }), 401, 'Error loading the user 42')
    })

    test('the user returned by an async userLookup reaches the handler', async (t) => {
      const users: Record<string, { name: string }> = { '42': { name: 'Ada' } }
      const { url, keycard } = await startApp(t, adapter, { secret: SECRET, userLookup: async (_h, c) => users[c.sub as string] ?? null })
      assert.deepEqual(expectOk(await call(url, '/protected', { token: await keycard.createAccessToken('42') })).user, { name: 'Ada' })
      expectError(await call(url, '/protected', { token: await keycard.createAccessToken('43') }), 401, 'Error loading the user 43')
    })
  })

  describe(`${adapter}: check order (the first failing check names the error)`, () => {
    test('expired with a bad signature → "Signature verification failed"', async (t) => {
      const { url } = await startApp(t, adapter, { secret: SECRET })
      expectError(
        await call(url, '/protected', { token: await sign(expired(), { key: OTHER_SECRET }) }),
        422,
        'Signature verification failed',
      )
    })

    test('an algorithm outside the allow-list with a bad signature → "The specified alg value is not allowed"', async (t) => {
      const { url } = await startApp(t, adapter, { secret: SECRET })
      expectError(
        await call(url, '/protected', { token: await sign(expired(), { key: OTHER_SECRET + OTHER_SECRET, header: { alg: 'HS512' } }) }),
        422,
        'The specified alg value is not allowed',
      )
    })

    test('a future iat on an expired token → "(iat)"; a future nbf with a bad issuer → "(nbf)"', async (t) => {
      const { url } = await startApp(t, adapter, { secret: SECRET, decodeIssuer: 'me' })
      expectError(
        await call(url, '/protected', { token: await sign(claims({ iss: 'me', iat: now() + 600, exp: now() - 60 })) }),
        422,
        'The token is not yet valid (iat)',
      )
      expectError(
        await call(url, '/protected', { token: await sign(claims({ iss: 'you', nbf: now() + 600 })) }),
        422,
        'The token is not yet valid (nbf)',
      )
    })

    // FJE decodes an expired token again with only exp ignored; a check failing there is the answer.
    test('expired with a wrong issuer → "Invalid issuer"; expired with a wrong audience → "Audience doesn\'t match"', async (t) => {
      const { url } = await startApp(t, adapter, { secret: SECRET, decodeIssuer: 'me', decodeAudience: 'api' })
      expectError(await call(url, '/protected', { token: await sign(expired({ iss: 'you', aud: 'web' })) }), 422, 'Invalid issuer')
      expectError(await call(url, '/protected', { token: await sign(expired({ iss: 'me', aud: 'web' })) }), 422, "Audience doesn't match")
      expectError(await call(url, '/protected', { token: await sign(expired({ aud: 'api' })) }), 422, 'Token is missing the "iss" claim')
      expectError(await call(url, '/protected', { token: await sign(expired({ iss: 'me', aud: 'api' })) }), 401, 'Token has expired')
    })

    test('expired with a numeric or missing sub, or a numeric jti → that 422, not "Token has expired"', async (t) => {
      const { url } = await startApp(t, adapter, { secret: SECRET })
      expectError(await call(url, '/protected', { token: await sign(expired({ sub: 42 })) }), 422, 'Subject must be a string')
      expectError(await call(url, '/protected', { token: await sign(expired({ sub: undefined })) }), 422, 'Missing claim: sub')
      expectError(await call(url, '/protected', { token: await sign(expired({ jti: 7 })) }), 422, 'JWT ID must be a string')
      expectError(await call(url, '/protected', { token: await sign(expired()) }), 401, 'Token has expired')
    })

    test('strict: false: the same order (an expired token with a numeric sub or jti is 422)', async (t) => {
      const { url } = await startApp(t, adapter, { secret: SECRET, strict: false })
      expectError(await call(url, '/protected', { token: await sign(expired({ sub: 42 })) }), 422, 'Subject must be a string')
      expectError(await call(url, '/protected', { token: await sign(expired({ jti: 7, sub: '42' })) }), 422, 'JWT ID must be a string')
    })

    test('an expired refresh token on an access route is still "Token has expired" (the type check comes after decoding)', async (t) => {
      const { url } = await startApp(t, adapter, { secret: SECRET })
      expectError(await call(url, '/protected', { token: await sign(expired({ type: 'refresh' })) }), 401, 'Token has expired')
    })

    test('an expired cookie token with a wrong CSRF header → "CSRF double submit tokens do not match"', async (t) => {
      const { url } = await startApp(t, adapter, { secret: SECRET, tokenLocation: ['headers', 'cookies'] })
      const token = await sign(expired({ csrf: 'the-right-value' }))
      const cookie = `access_token_cookie=${token}; csrf_access_token=the-right-value`
      const post = (csrf: string | undefined) =>
        call(url, '/protected', { method: 'POST', headers: { cookie, ...(csrf === undefined ? {} : { 'x-csrf-token': csrf }) } })
      // CSRF errors are 401 with error="invalid_request" (the request, not the token, is at fault).
      const csrfError = (res: Awaited<ReturnType<typeof call>>, msg: string) => {
        assert.deepEqual({ status: res.status, body: res.body }, { status: 401, body: { msg } })
        assert.equal(res.headers.get('www-authenticate'), `Bearer error="invalid_request", error_description="${msg}"`)
      }
      csrfError(await post('a-wrong-value'), 'CSRF double submit tokens do not match')
      csrfError(await post(undefined), 'Missing CSRF token')
      expectError(await post('the-right-value'), 401, 'Token has expired')
      // A GET needs no CSRF value: the expiry is the answer.
      expectError(await call(url, '/protected', { headers: { cookie } }), 401, 'Token has expired')
      // No csrf claim to compare with: FJE's "Missing claim: csrf".
      const bare = await sign(expired({ csrf: undefined }))
      expectError(
        await call(url, '/protected', { method: 'POST', headers: { cookie: `access_token_cookie=${bare}`, 'x-csrf-token': 'x' } }),
        422,
        'Missing claim: csrf',
      )
    })

    test('wrong issuer and audience → "Invalid issuer"; wrong audience and integer sub → "Audience doesn\'t match"', async (t) => {
      const { url } = await startApp(t, adapter, { secret: SECRET, decodeIssuer: 'me', decodeAudience: 'api' })
      expectError(await call(url, '/protected', { token: await sign(claims({ iss: 'you', aud: 'web' })) }), 422, 'Invalid issuer')
      expectError(
        await call(url, '/protected', { token: await sign(claims({ iss: 'me', aud: 'web', sub: 1 })) }),
        422,
        "Audience doesn't match",
      )
    })

    test('integer sub and jti → "Subject must be a string"; integer jti and no identity → "JWT ID must be a string"', async (t) => {
      const { url } = await startApp(t, adapter, { secret: SECRET })
      expectError(await call(url, '/protected', { token: await sign(claims({ sub: 1, jti: 2 })) }), 422, 'Subject must be a string')
      expectError(await call(url, '/protected', { token: await sign(claims({ sub: undefined, jti: 2 })) }), 422, 'JWT ID must be a string')
    })

    test('a revoked refresh token on an access route → "Only non-refresh tokens are allowed"', async (t) => {
      const { url, keycard } = await startApp(t, adapter, { secret: SECRET, tokenInBlocklist: () => true })
      expectError(
        await call(url, '/protected', { token: await keycard.createRefreshToken('42') }),
        422,
        'Only non-refresh tokens are allowed',
      )
    })

    test('a revoked, non-fresh token on a fresh route → "Fresh token required"', async (t) => {
      const store = new MemoryRevocationStore()
      t.after(() => store.close())
      const { url, keycard } = await startApp(t, adapter, { secret: SECRET, revocationStore: store })
      const token = await keycard.createAccessToken('42')
      await keycard.revokeToken(await keycard.decodeToken(token))
      expectError(await call(url, '/fresh', { token }), 401, 'Fresh token required')
      expectError(await call(url, '/protected', { token }), 401, 'Token has been revoked')
    })

    test('revoked and failing tokenVerification → revoked; failing verification and no user → 400', async (t) => {
      const { url, keycard } = await startApp(t, adapter, {
        secret: SECRET,
        tokenInBlocklist: (_h, c) => c.revoked === true,
        tokenVerification: () => false,
        userLookup: () => null,
      })
      expectError(
        await call(url, '/protected', { token: await keycard.createAccessToken('42', { additionalClaims: { revoked: true } }) }),
        401,
        'Token has been revoked',
      )
      expectError(await call(url, '/protected', { token: await keycard.createAccessToken('42') }), 400, 'User claims verification failed')
    })

    test('in strict mode a missing jti is reported before an expired exp', async (t) => {
      const { url } = await startApp(t, adapter, { secret: SECRET })
      expectError(
        await call(url, '/protected', { token: await sign(expired({ jti: undefined })) }),
        422,
        'Token is missing the "jti" claim',
      )
    })
  })
}

describe('errors thrown directly', () => {
  const code = (expected: string, message?: string) => (err: KeycardError) => {
    assert.equal(err.code, expected)
    if (message !== undefined) assert.equal(err.message, message)
    return true
  }

  test('decodeToken rejects with the error class, status and code of each case', async () => {
    const keycard = await createKeycard({ secret: SECRET })
    await assert.rejects(keycard.decodeToken('x'), code('KEYCARD_JWT_MALFORMED', 'Not enough segments'))
    await assert.rejects(
      keycard.decodeToken(await sign(claims(), { key: OTHER_SECRET })),
      code('KEYCARD_JWT_SIGNATURE_INVALID', 'Signature verification failed'),
    )
    await assert.rejects(
      keycard.decodeToken(await sign(claims(), { header: { alg: 'HS512' }, key: SECRET + SECRET })),
      code('KEYCARD_JWT_ALG_NOT_ALLOWED'),
    )
    await assert.rejects(
      keycard.decodeToken(await sign(claims({ nbf: now() + 600 }))),
      (err: KeycardError & { claim?: string; status?: number }) => {
        assert.deepEqual([err.code, err.claim, err.status], ['KEYCARD_JWT_NOT_YET_VALID', 'nbf', 422])
        return true
      },
    )
    await assert.rejects(keycard.decodeToken(await sign(claims({ sub: 1 }))), code('KEYCARD_JWT_CLAIM_INVALID', 'Subject must be a string'))
    await assert.rejects(keycard.decodeToken('a'.repeat(9000)), code('KEYCARD_JWT_TOO_LARGE'))
    await assert.rejects(keycard.decodeToken(await sign(expired())), (err: KeycardError & { status?: number; claims?: JwtClaims }) => {
      assert.deepEqual([err.code, err.status, err.claims?.sub], ['KEYCARD_JWT_EXPIRED', 401, '42'])
      return true
    })
  })

  test('decodeToken with allowExpired returns the claims of an expired token, defaults filled', async () => {
    const keycard = await createKeycard({ secret: SECRET, strict: false })
    const decoded = await keycard.decodeToken(await sign({ sub: '42', exp: now() - 60 }), { allowExpired: true })
    assert.deepEqual(decoded, { sub: '42', exp: decoded.exp, type: 'access', fresh: false })
    await assert.rejects(keycard.decodeToken(await sign({ sub: '42', exp: now() - 60 })), (err: KeycardError & { claims?: JwtClaims }) => {
      assert.equal(err.code, 'KEYCARD_JWT_EXPIRED')
      // The expired-token builder gets the payload with FJE's defaults, as FJE's loader does.
      assert.deepEqual([err.claims?.type, err.claims?.fresh], ['access', false])
      return true
    })
  })

  test('verifyJwtInRequest works on a hand-made RequestView and throws the guard errors', async () => {
    const keycard = await createKeycard({ secret: SECRET })
    const view = (authorization?: string, method = 'GET') => ({
      method,
      header: (name: string) => (name === 'authorization' ? authorization : undefined),
    })
    const token = await keycard.createAccessToken('42')
    assert.equal((await keycard.verifyJwtInRequest(view(`Bearer ${token}`)))?.identity, '42')
    assert.equal(await keycard.verifyJwtInRequest(view(undefined, 'OPTIONS')), null)
    assert.equal(await keycard.verifyJwtInRequest(view(), { optional: true }), null)
    await assert.rejects(keycard.verifyJwtInRequest(view()), code('KEYCARD_NO_AUTHORIZATION', 'Missing Authorization Header'))
    await assert.rejects(keycard.verifyJwtInRequest(view('Bearer a b')), code('KEYCARD_INVALID_HEADER'))
    await assert.rejects(
      keycard.verifyJwtInRequest(view(`Bearer ${token}`), { fresh: true }),
      code('KEYCARD_FRESH_TOKEN_REQUIRED', 'Fresh token required'),
    )
    await assert.rejects(
      keycard.verifyJwtInRequest(view(`Bearer ${token}`), { refresh: true }),
      code('KEYCARD_WRONG_TOKEN_TYPE', 'Only refresh tokens are allowed'),
    )
    await assert.rejects(keycard.verifyJwtInRequest(view(['Bearer a', 'Bearer b'] as unknown as string)), code('KEYCARD_INVALID_HEADER'))
  })
})
