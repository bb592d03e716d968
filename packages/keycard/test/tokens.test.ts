/**
 * Minting and decoding: the claim layout of Flask-JWT-Extended 4.7 (reference §1.9), loaders,
 * per-token keys, decodeToken, the verified-token cache and the in-memory revocation store.
 */

import { test, mock } from 'node:test'
import assert from 'node:assert/strict'
import {
  createKeycard,
  IdentityError,
  JWTDecodeError,
  MemoryRevocationStore,
  type JwtContext,
  type KeycardOptions,
  type RequestView,
} from 'keycard'

const SECRET = 'tokens-test-secret-of-at-least-32-bytes!'
const UUID4 = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/

function parts(token: string) {
  const [h, p] = token.split('.')
  const headerJson = Buffer.from(h!, 'base64url').toString('utf8')
  const payloadJson = Buffer.from(p!, 'base64url').toString('utf8')
  return {
    headerJson,
    payloadJson,
    header: JSON.parse(headerJson) as Record<string, unknown>,
    payload: JSON.parse(payloadJson) as Record<string, unknown>,
  }
}

const kc = (options: Partial<KeycardOptions<any>> = {}) => createKeycard({ secret: SECRET, ...options })

function view(token: string | undefined): RequestView {
  return { method: 'GET', header: (name) => (name === 'authorization' && token !== undefined ? `Bearer ${token}` : undefined) }
}

/** Runs `fn` with Date.now() frozen at `ms` (node:test mock timers). */
async function at<T>(ms: number, fn: () => Promise<T>): Promise<T> {
  mock.timers.enable({ apis: ['Date'], now: ms })
  try {
    return await fn()
  } finally {
    mock.timers.reset()
  }
}

test('access token: header and payload exactly in FJE layout', async () => {
  const keycard = await kc()
  const before = Math.floor(Date.now() / 1000)
  const token = await keycard.createAccessToken('42')
  const after = Math.floor(Date.now() / 1000)
  const { headerJson, payload, payloadJson } = parts(token)
  assert.equal(headerJson, '{"alg":"HS256","typ":"JWT"}')
  assert.deepEqual(Object.keys(payload), ['fresh', 'iat', 'jti', 'type', 'sub', 'nbf', 'csrf', 'exp'])
  assert.ok(!/\s/.test(payloadJson), 'compact JSON')
  assert.equal(payload.fresh, false)
  assert.equal(payload.type, 'access')
  assert.equal(payload.sub, '42')
  assert.ok(Number.isInteger(payload.iat) && Number.isInteger(payload.nbf) && Number.isInteger(payload.exp))
  assert.ok((payload.iat as number) >= before && (payload.iat as number) <= after)
  assert.equal(payload.nbf, payload.iat)
  assert.equal(payload.exp, (payload.iat as number) + 900)
  assert.match(payload.jti as string, UUID4)
  assert.match(payload.csrf as string, UUID4)
  assert.notEqual(payload.jti, payload.csrf)
  // Two tokens never share a jti.
  assert.notEqual(parts(await keycard.createAccessToken('42')).payload.jti, payload.jti)
})

test('refresh token: same keys, never fresh, exp = iat + 30 days', async () => {
  const keycard = await kc()
  const { payload } = parts(await keycard.createRefreshToken('42'))
  assert.deepEqual(Object.keys(payload), ['fresh', 'iat', 'jti', 'type', 'sub', 'nbf', 'csrf', 'exp'])
  assert.equal(payload.fresh, false)
  assert.equal(payload.type, 'refresh')
  assert.equal(payload.exp, (payload.iat as number) + 30 * 86400)
  // The options type has no `fresh`; passing it anyway changes nothing.
  const forced = parts(await keycard.createRefreshToken('42', { fresh: true } as never)).payload
  assert.equal(forced.fresh, false)
})

test('fresh: true, false, or a duration stored as a float "fresh until" timestamp', async () => {
  const keycard = await kc()
  assert.equal(parts(await keycard.createAccessToken('1', { fresh: true })).payload.fresh, true)
  assert.equal(parts(await keycard.createAccessToken('1', { fresh: false })).payload.fresh, false)
  await at(1_795_349_405_149, async () => {
    const { payload, payloadJson } = parts(await keycard.createAccessToken('1', { fresh: 300 }))
    assert.equal(payload.fresh, 1_795_349_705.149)
    assert.match(payloadJson, /^\{"fresh":1795349705\.149,"iat":1795349405,/)
    assert.equal(parts(await keycard.createAccessToken('1', { fresh: '5m' })).payload.fresh, 1_795_349_705.149)
    assert.equal(payload.exp, 1_795_349_405 + 900)
  })
  await assert.rejects(keycard.createAccessToken('1', { fresh: 'soon' as never }), {
    name: 'KeycardOptionError',
    code: 'KEYCARD_OPTION_INVALID',
    option: 'fresh',
    message: `keycard option "fresh": expected true, false or a duration such as '15m', got "soon".`,
  })
})

test('csrfProtect: false drops csrf; encodeNbf: false drops nbf', async () => {
  const noCsrf = parts(await (await kc({ csrfProtect: false })).createAccessToken('1')).payload
  assert.deepEqual(Object.keys(noCsrf), ['fresh', 'iat', 'jti', 'type', 'sub', 'nbf', 'exp'])
  const noNbf = parts(await (await kc({ encodeNbf: false })).createRefreshToken('1')).payload
  assert.deepEqual(Object.keys(noNbf), ['fresh', 'iat', 'jti', 'type', 'sub', 'csrf', 'exp'])
})

test('aud then iss sit after csrf, before exp; a list audience stays a list', async () => {
  const one = parts(await (await kc({ encodeAudience: 'api', encodeIssuer: 'https://issuer' })).createAccessToken('1')).payload
  assert.deepEqual(Object.keys(one), ['fresh', 'iat', 'jti', 'type', 'sub', 'nbf', 'csrf', 'aud', 'iss', 'exp'])
  assert.equal(one.aud, 'api')
  assert.equal(one.iss, 'https://issuer')
  const list = parts(await (await kc({ encodeAudience: ['a', 'b'] })).createAccessToken('1')).payload
  assert.deepEqual(list.aud, ['a', 'b'])
  assert.ok(!('iss' in list))
})

test('exp: expiresIn overrides the lifetime; false or a false lifetime omits it', async () => {
  const keycard = await kc({ accessTokenExpires: false, refreshTokenExpires: '1h' })
  const access = parts(await keycard.createAccessToken('1')).payload
  assert.ok(!('exp' in access))
  assert.deepEqual(Object.keys(access), ['fresh', 'iat', 'jti', 'type', 'sub', 'nbf', 'csrf'])
  const refresh = parts(await keycard.createRefreshToken('1')).payload
  assert.equal(refresh.exp, (refresh.iat as number) + 3600)
  // Strict mode refuses to mint a refresh token without exp while refresh tokens expire (lifetimes.test.ts); strict: false mints it.
  const never = parts(await (await kc({ refreshTokenExpires: '1h', strict: false })).createRefreshToken('1', { expiresIn: false })).payload
  assert.ok(!('exp' in never))
  const short = parts(await (await kc()).createAccessToken('1', { expiresIn: '90s' })).payload
  assert.equal(short.exp, (short.iat as number) + 90)
  // An access token without exp still decodes when access tokens are configured to never expire.
  assert.equal((await keycard.decodeToken(await keycard.createAccessToken('1'))).sub, '1')
  await assert.rejects((await kc()).createAccessToken('1', { expiresIn: 0 }), {
    code: 'KEYCARD_OPTION_INVALID',
    option: 'expiresIn',
    message: `keycard option "expiresIn": expected a positive duration such as '1h', or false; got 0.`,
  })
})

test('additional claims: appended after exp, loader first, call arguments win; reserved claims keep their place', async () => {
  const seen: unknown[] = []
  const keycard = await kc({
    additionalClaims: (identity) => {
      seen.push(identity)
      return { role: 'user', tier: 1 }
    },
  })
  const { payload } = parts(await keycard.createAccessToken('7', { additionalClaims: { role: 'admin', extra: true } }))
  assert.deepEqual(Object.keys(payload), ['fresh', 'iat', 'jti', 'type', 'sub', 'nbf', 'csrf', 'exp', 'role', 'tier', 'extra'])
  assert.equal(payload.role, 'admin')
  assert.equal(payload.tier, 1)
  assert.deepEqual(seen, ['7'])

  // FJE §1.9: additional_claims={"nbf":1,"role":"admin"} → …,"nbf":1,"csrf":…,"exp":…,"role":"admin"}
  const { payloadJson } = parts(await (await kc()).createAccessToken('7', { additionalClaims: { nbf: 1, role: 'admin' } }))
  assert.match(
    payloadJson,
    /^\{"fresh":false,"iat":\d+,"jti":"[0-9a-f-]{36}","type":"access","sub":"7","nbf":1,"csrf":"[0-9a-f-]{36}","exp":\d+,"role":"admin"\}$/,
  )
  // A loader can override a reserved claim too, and the call's own claims win over it.
  const over = parts(
    await (await kc({ additionalClaims: () => ({ type: 'app', sub: 'x' }) })).createAccessToken('7', { additionalClaims: { sub: 'y' } }),
  ).payload
  assert.deepEqual(Object.keys(over), ['fresh', 'iat', 'jti', 'type', 'sub', 'nbf', 'csrf', 'exp'])
  assert.equal(over.type, 'app')
  assert.equal(over.sub, 'y')
})

test('additional headers are sorted into the header; the call wins over the loader; alg cannot be overridden', async () => {
  const keycard = await kc({ additionalHeaders: () => ({ kid: 'from-loader', x5t: 'abc' }) })
  assert.equal(parts(await keycard.createAccessToken('1')).headerJson, '{"alg":"HS256","kid":"from-loader","typ":"JWT","x5t":"abc"}')
  assert.equal(
    parts(await keycard.createAccessToken('1', { additionalHeaders: { kid: 'k1' } })).headerJson,
    '{"alg":"HS256","kid":"k1","typ":"JWT","x5t":"abc"}',
  )
  const plain = await kc()
  const token = await plain.createRefreshToken('1', { additionalHeaders: { kid: 'k1' } })
  assert.equal(parts(token).headerJson, '{"alg":"HS256","kid":"k1","typ":"JWT"}')
  assert.deepEqual(plain.getUnverifiedHeader(token), { alg: 'HS256', kid: 'k1', typ: 'JWT' })
  for (const name of ['alg', 'crit', 'b64']) {
    await assert.rejects(plain.createAccessToken('1', { additionalHeaders: { [name]: 'none' } }), {
      name: 'KeycardOptionError',
      code: 'KEYCARD_OPTION_INVALID',
      option: 'additionalHeaders',
      message: `keycard option "additionalHeaders": "${name}" is set by keycard and cannot be overridden.`,
    })
  }
  await assert.rejects((await kc({ additionalHeaders: () => ({ alg: 'none' }) })).createAccessToken('1'), { option: 'additionalHeaders' })
})

test('identity must be a non-empty string, refused at mint with a fix', async () => {
  const keycard = await kc()
  const fix = 'Pass String(id), or set the userIdentity option to map your user object to its id.'
  await assert.rejects(keycard.createAccessToken(42), (err: unknown) => {
    assert.ok(err instanceof IdentityError)
    assert.equal(err.code, 'KEYCARD_IDENTITY_INVALID')
    assert.equal(
      err.message,
      `The identity must be a non-empty string, got number 42: JWT "sub" is a string (RFC 7519; PyJWT 2.10+ rejects anything else). ${fix}`,
    )
    return true
  })
  await assert.rejects(keycard.createRefreshToken(''), {
    code: 'KEYCARD_IDENTITY_INVALID',
    message: `The identity must be a non-empty string, got an empty string: JWT "sub" is a string (RFC 7519; PyJWT 2.10+ rejects anything else). ${fix}`,
  })
  await assert.rejects(keycard.createAccessToken({ id: 1 }), {
    code: 'KEYCARD_IDENTITY_INVALID',
    message: /got object: .* Pass String\(id\)/,
  })
  await assert.rejects(keycard.createAccessToken(null), { code: 'KEYCARD_IDENTITY_INVALID', message: /got object: / })
  const loader = await kc({ identityClaim: 'uid', userIdentity: (u: { id: number }) => u.id as unknown as string })
  await assert.rejects(loader.createAccessToken({ id: 5 }), {
    code: 'KEYCARD_IDENTITY_INVALID',
    message:
      'The identity must be a non-empty string, got number 5: JWT "uid" is a string (RFC 7519; PyJWT 2.10+ rejects anything else). Make the userIdentity loader return a string.',
  })
})

test('userIdentity maps a user object; other loaders still receive the object', async () => {
  interface User {
    id: number
    name: string
  }
  const got: unknown[] = []
  const keycard = await kc({
    userIdentity: (user: User) => String(user.id),
    additionalClaims: (user) => {
      got.push(user)
      return { name: (user as User).name }
    },
    additionalHeaders: (user) => ({ kid: `k${(user as User).id}` }),
  })
  const alice = { id: 7, name: 'alice' }
  const token = await keycard.createAccessToken(alice)
  assert.deepEqual(got, [alice])
  assert.equal(parts(token).payload.sub, '7')
  assert.equal(parts(token).payload.name, 'alice')
  assert.equal(parts(token).header.kid, 'k7')
  assert.equal((await keycard.decodeToken(token)).sub, '7')
})

test('async loaders are awaited, at mint and in the guard', async () => {
  const tick = <T>(v: T) => new Promise<T>((resolve) => setImmediate(() => resolve(v)))
  const keycard = await kc({
    userIdentity: (u: { id: string }) => tick(u.id),
    additionalClaims: () => tick({ role: 'admin' }),
    additionalHeaders: () => tick({ kid: 'k9' }),
    tokenInBlocklist: (_h, claims) => tick(claims.role !== 'admin'),
    tokenVerification: (_h, claims) => tick(claims.sub === 'u1'),
    userLookup: (_h, claims) => tick({ id: claims.sub, loaded: true }),
  })
  const token = await keycard.createAccessToken({ id: 'u1' })
  assert.equal(parts(token).headerJson, '{"alg":"HS256","kid":"k9","typ":"JWT"}')
  const ctx = await keycard.verifyJwtInRequest(view(token))
  assert.deepEqual(ctx?.user, { id: 'u1', loaded: true })
  assert.equal(ctx?.identity, 'u1')
  assert.equal(ctx?.claims.role, 'admin')
  assert.equal(ctx?.location, 'headers')
  await assert.rejects(keycard.verifyJwtInRequest(view(await keycard.createAccessToken({ id: 'u2' }))), {
    code: 'KEYCARD_CLAIMS_VERIFICATION_FAILED',
    message: 'User claims verification failed',
  })
  await assert.rejects(
    keycard.verifyJwtInRequest(view(await keycard.createAccessToken({ id: 'u1' }, { additionalClaims: { role: 'user' } }))),
    {
      code: 'KEYCARD_TOKEN_REVOKED',
      message: 'Token has been revoked',
    },
  )
})

test('checkRequest answers in the same tick when every check is synchronous, with a promise otherwise', async () => {
  const store = new MemoryRevocationStore()
  const keycard = await kc({ revocationStore: store })
  const token = await keycard.createAccessToken('s1')
  // The adapters' path: a value, not a promise, for a valid token (cold and then cached).
  for (let i = 0; i < 3; i++) {
    const ctx = keycard.checkRequest(view(token))
    assert.ok(!(ctx instanceof Promise))
    assert.equal(ctx?.identity, 's1')
  }
  assert.equal(keycard.checkRequest(view(undefined), { optional: true }), null)
  // Failures are thrown, not returned as rejected promises.
  assert.throws(() => keycard.checkRequest(view('a.b')), { code: 'KEYCARD_JWT_MALFORMED', message: 'Not enough segments' })
  assert.throws(() => keycard.checkRequest(view(undefined)), { code: 'KEYCARD_NO_AUTHORIZATION' })
  const verified = keycard.checkRequest(view(token)) as JwtContext
  await store.revoke(verified.claims.jti!, null)
  assert.throws(() => keycard.checkRequest(view(token)), { code: 'KEYCARD_TOKEN_REVOKED' })

  // Any async step makes the whole answer a promise, with the same outcome.
  const slow = await kc({ tokenInBlocklist: async (_h, claims) => claims.sub === 'mallory' })
  const pending = slow.checkRequest(view(await slow.createAccessToken('alice')))
  assert.ok(pending instanceof Promise)
  assert.equal((await pending)?.identity, 'alice')
  const revoked = slow.checkRequest(view(await slow.createAccessToken('mallory')))
  assert.ok(revoked instanceof Promise)
  await assert.rejects(revoked, { code: 'KEYCARD_TOKEN_REVOKED' })
  const looked = await kc({ userLookup: (_h, claims) => ({ id: claims.sub }) })
  const withUser = looked.checkRequest(view(await looked.createAccessToken('u7')))
  assert.ok(withUser instanceof Promise, 'loaders may be async, so they always run through a promise')
  assert.deepEqual((await withUser)?.user, { id: 'u7' })
  // verifyJwtInRequest stays promise-only, even for synchronous failures.
  const rejected = keycard.verifyJwtInRequest(view('a.b'))
  assert.ok(rejected instanceof Promise)
  await assert.rejects(rejected, { code: 'KEYCARD_JWT_MALFORMED' })
})

test('encodeKey/decodeKey: per-identity secrets, no cache, wrong key refused', async () => {
  const secrets: Record<string, string> = { alice: 'alice-secret-0123456789-0123456789-x', bob: 'bob-secret-0123456789-0123456789-xyz' }
  let decodes = 0
  const keycard = await createKeycard({
    encodeKey: (identity) => secrets[identity as string]!,
    decodeKey: async (_header, claims) => {
      decodes++
      return secrets[claims.sub as string]!
    },
  })
  const alice = await keycard.createAccessToken('alice')
  assert.equal((await keycard.decodeToken(alice)).sub, 'alice')
  assert.equal((await keycard.decodeToken(alice)).sub, 'alice')
  assert.equal(decodes, 2, 'a decodeKey loader turns the verified-token cache off')
  // Re-sign Alice's payload with Bob's key: refused.
  const { createHmac } = await import('node:crypto')
  const [h, p] = alice.split('.')
  const forged = `${h}.${p}.${createHmac('sha256', secrets.bob!).update(`${h}.${p}`).digest('base64url')}`
  await assert.rejects(keycard.decodeToken(forged), { code: 'KEYCARD_JWT_SIGNATURE_INVALID', message: 'Signature verification failed' })
  // The static secret does not verify per-identity tokens.
  await assert.rejects((await kc()).decodeToken(alice), { code: 'KEYCARD_JWT_SIGNATURE_INVALID', message: 'Signature verification failed' })
  // A short per-token key is refused at mint with the option's rule.
  const weak = await createKeycard({ encodeKey: () => 'short', decodeKey: () => 'short' })
  await assert.rejects(weak.createAccessToken('x'), {
    code: 'KEYCARD_OPTION_INVALID',
    option: 'encodeKey',
    message: /at least 32 bytes, got 5/,
  })
})

test('decodeToken: expired tokens refused unless allowExpired, and never cached as valid', async () => {
  const keycard = await kc()
  const token = await at(Date.now() - 3600_000, () => keycard.createAccessToken('old'))
  await assert.rejects(keycard.decodeToken(token), (err: unknown) => {
    assert.equal((err as { code: string }).code, 'KEYCARD_JWT_EXPIRED')
    assert.equal((err as Error).message, 'Token has expired')
    assert.equal((err as { claims: { sub: string } }).claims.sub, 'old')
    return true
  })
  const claims = await keycard.decodeToken(token, { allowExpired: true })
  assert.equal(claims.sub, 'old')
  assert.equal(claims.type, 'access')
  await assert.rejects(keycard.decodeToken(token), { code: 'KEYCARD_JWT_EXPIRED' })
  // allowExpired does not relax anything else.
  await assert.rejects(keycard.decodeToken(`${token.slice(0, -2)}AA`, { allowExpired: true }), { code: 'KEYCARD_JWT_SIGNATURE_INVALID' })
})

test('getUnverifiedHeader reads any token without a key; malformed input is a JWTDecodeError', async () => {
  const other = await createKeycard({ secret: 'a-completely-different-secret-0123456789' })
  const token = await other.createAccessToken('1', { additionalHeaders: { kid: 'rotated-7' } })
  const keycard = await kc()
  assert.deepEqual(keycard.getUnverifiedHeader(token), { alg: 'HS256', kid: 'rotated-7', typ: 'JWT' })
  assert.throws(
    () => keycard.getUnverifiedHeader('abc'),
    (err: unknown) => {
      assert.ok(err instanceof JWTDecodeError)
      assert.equal(err.code, 'KEYCARD_JWT_MALFORMED')
      assert.equal(err.message, 'Not enough segments')
      return true
    },
  )
  assert.throws(() => keycard.getUnverifiedHeader(`${Buffer.from('[1]').toString('base64url')}.e30.`), {
    code: 'KEYCARD_JWT_MALFORMED',
    message: 'Invalid header string: must be a json object',
  })
})

test('verified-token cache: a cached token still expires', async () => {
  const keycard = await kc()
  const start = Date.now()
  await at(start, async () => {
    const token = await keycard.createAccessToken('c', { expiresIn: 60 })
    assert.equal((await keycard.decodeToken(token)).sub, 'c') // cached now
    mock.timers.tick(59_000)
    assert.equal((await keycard.decodeToken(token)).sub, 'c') // hit, still valid
    mock.timers.tick(2_000)
    await assert.rejects(keycard.decodeToken(token), { code: 'KEYCARD_JWT_EXPIRED', message: 'Token has expired' })
    // allowExpired on a hit returns it; without, still refused.
    assert.equal((await keycard.decodeToken(token, { allowExpired: true })).sub, 'c')
    await assert.rejects(keycard.verifyJwtInRequest(view(token)), { code: 'KEYCARD_JWT_EXPIRED' })
  })
})

test('verified-token cache: leeway is honoured on a hit', async () => {
  const keycard = await kc({ leeway: 10 })
  await at(Date.now(), async () => {
    const token = await keycard.createAccessToken('c', { expiresIn: 60 })
    await keycard.decodeToken(token)
    mock.timers.tick(65_000)
    assert.equal((await keycard.decodeToken(token)).sub, 'c')
    mock.timers.tick(6_000)
    await assert.rejects(keycard.decodeToken(token), { code: 'KEYCARD_JWT_EXPIRED' })
  })
})

test('verified-token cache: a cached token revoked afterwards is refused by the guard', async () => {
  const store = new MemoryRevocationStore()
  const keycard = await kc({ revocationStore: store })
  const token = await keycard.createAccessToken('r')
  const ctx = await keycard.verifyJwtInRequest(view(token))
  assert.equal(ctx?.identity, 'r')
  assert.equal((await keycard.verifyJwtInRequest(view(token)))?.identity, 'r') // served from the cache
  await keycard.revokeToken(ctx!.claims)
  assert.equal(store.isRevoked(ctx!.claims.jti!), true)
  await assert.rejects(keycard.verifyJwtInRequest(view(token)), {
    name: 'RevokedTokenError',
    code: 'KEYCARD_TOKEN_REVOKED',
    message: 'Token has been revoked',
  })
  // skipRevocationCheck lets it through; decodeToken never checks revocation (as FJE).
  assert.equal((await keycard.verifyJwtInRequest(view(token), { skipRevocationCheck: true }))?.identity, 'r')
  assert.equal((await keycard.decodeToken(token)).sub, 'r')
  store.close()
})

test('verified-token cache: a token refused once is refused again (failures are not cached as success)', async () => {
  const keycard = await kc()
  const token = await keycard.createAccessToken('f')
  // Flip the character that is replaced (not the last one), so the tampered token always differs.
  const tampered = `${token.slice(0, -3)}${token.at(-3) === 'A' ? 'B' : 'A'}${token.slice(-2)}`
  for (let i = 0; i < 2; i++) await assert.rejects(keycard.decodeToken(tampered), { code: 'KEYCARD_JWT_SIGNATURE_INVALID' })
  const future = await at(Date.now() + 3600_000, () => keycard.createAccessToken('f'))
  for (let i = 0; i < 2; i++)
    await assert.rejects(keycard.decodeToken(future), { code: 'KEYCARD_JWT_NOT_YET_VALID', message: 'The token is not yet valid (iat)' })
})

test('verified-token cache: only a plain "Bearer <token>" header is served from it; any other spelling gets FJE\'s parsing', async () => {
  const keycard = await kc()
  const token = await keycard.createAccessToken('h')
  const header = (value: string): RequestView => ({ method: 'GET', header: (name) => (name === 'authorization' ? value : undefined) })
  const BAD = "Bad Authorization header. Expected 'Authorization: Bearer <JWT>'"
  const MISSING = "Missing 'Bearer' type in 'Authorization' header. Expected 'Authorization: Bearer <JWT>'"
  const check = async () => {
    assert.equal((await keycard.verifyJwtInRequest(header(`Bearer ${token}`)))?.identity, 'h')
    assert.equal((await keycard.verifyJwtInRequest(header(`Basic eDp5, Bearer ${token}`)))?.identity, 'h')
    assert.equal((await keycard.verifyJwtInRequest(header(`Bearer ${token},`)))?.identity, 'h')
    await assert.rejects(keycard.verifyJwtInRequest(header(`Bearer ${token} x`)), { code: 'KEYCARD_INVALID_HEADER', message: BAD })
    await assert.rejects(keycard.verifyJwtInRequest(header(`Bearer ${token}, Bearer ${token}`)), {
      code: 'KEYCARD_NO_AUTHORIZATION',
      message: MISSING,
    })
    assert.equal(await keycard.verifyJwtInRequest(header(`Bearer ${token}, Bearer ${token}`), { optional: true }), null)
    await assert.rejects(keycard.verifyJwtInRequest(header(`Bearer ${token}x`)), { code: 'KEYCARD_JWT_SIGNATURE_INVALID' })
    await assert.rejects(keycard.verifyJwtInRequest(header(`Bearer ${token.replace('.', '..')}`)), { code: 'KEYCARD_JWT_MALFORMED' })
  }
  await check() // first sightings: nothing cached yet
  await check() // the plain header's token is cached from here on; the answers stay the same
  await check()
})

test('MemoryRevocationStore sweep drops entries whose token expired, keeps the rest', () => {
  let now = 1000
  const store = new MemoryRevocationStore({ now: () => now })
  store.revoke('a', 1100)
  store.revoke('b', 1200)
  store.revoke('c', null)
  assert.equal(store.size, 3)
  assert.equal(store.sweep(), 0)
  now = 1100
  assert.equal(store.sweep(), 1) // exp <= now: the token is expired, its entry is useless
  assert.equal(store.isRevoked('a'), false)
  assert.equal(store.isRevoked('b'), true)
  now = 10 ** 12
  assert.equal(store.sweep(), 1)
  assert.equal(store.isRevoked('b'), false)
  assert.equal(store.isRevoked('c'), true, 'a token without exp stays revoked forever')
  assert.equal(store.size, 1)
  store.close()
})

test('MemoryRevocationStore sweeps on its own timer', () => {
  mock.timers.enable({ apis: ['setInterval'] })
  try {
    let now = 0
    const store = new MemoryRevocationStore({ now: () => now, sweepInterval: 1000 })
    store.revoke('x', 5)
    now = 10
    mock.timers.tick(999)
    assert.equal(store.size, 1)
    mock.timers.tick(1)
    assert.equal(store.size, 0)
    store.close()
  } finally {
    mock.timers.reset()
  }
})

test('a frozen options object passed to verifyJwtInRequest is still checked and given defaults', async () => {
  const keycard = await createKeycard({ secret: SECRET })
  const access = await keycard.createAccessToken('7')
  // Not fresh: a frozen `{ fresh: true }` must still require freshness.
  await assert.rejects(keycard.verifyJwtInRequest(view(access), Object.freeze({ fresh: true })), { code: 'KEYCARD_FRESH_TOKEN_REQUIRED' })
  const ctx = await keycard.verifyJwtInRequest(view(access), Object.freeze({}))
  assert.equal(ctx?.identity, '7')
  await assert.rejects(async () => keycard.verifyJwtInRequest(view(access), Object.freeze({ bogus: true }) as never), {
    code: 'KEYCARD_OPTION_INVALID',
  })
})
