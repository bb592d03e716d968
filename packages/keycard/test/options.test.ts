/**
 * Every bad option is refused when the keycard is created (never on the first request, as FJE does),
 * with a KeycardOptionError whose `option` names the option and whose message says how to fix it.
 */

import { test } from 'node:test'
import assert from 'node:assert/strict'
import { generateKeyPairSync } from 'node:crypto'
import { readFileSync } from 'node:fs'
import {
  createKeycard,
  KeycardError,
  KeycardOptionError,
  MemoryRevocationStore,
  type NoAuthorizationError,
  type JwtClaims,
  type JwtHeader,
  type KeycardOptions,
  type TokenLocation,
} from 'keycard'
import { copyOptions } from '../src/option-checks.ts'

const S = 'options-test-secret-0123456789-abcdef'
const keyFile = (name: string) => readFileSync(new URL(`./interop/keys/${name}`, import.meta.url), 'utf8')
const RSA_PRIVATE = keyFile('rsa-private.pem')
const RSA_PUBLIC = keyFile('rsa-public.pem')
const EC_PRIVATE = keyFile('ec-private.pem')
const small = generateKeyPairSync('rsa', { modulusLength: 1024 })
const p384 = generateKeyPairSync('ec', { namedCurve: 'P-384' })
const ALGS = 'HS256, HS384, HS512, RS256, RS384, RS512, PS256, PS384, PS512, ES256, ES384, ES512, EdDSA'
const LIFETIME = "expected a positive number of seconds, a string such as '15m' or '30d', or false for tokens that never expire; got"

/** The exact error createKeycard must reject with. */
async function refuses(options: unknown, option: string, message: string): Promise<void> {
  await assert.rejects(createKeycard(options as KeycardOptions), (err: unknown) => {
    assert.ok(err instanceof KeycardOptionError, `expected KeycardOptionError, got ${String(err)}`)
    assert.equal(err.name, 'KeycardOptionError')
    assert.equal(err.code, 'KEYCARD_OPTION_INVALID')
    assert.equal(err.option, option)
    assert.equal(err.message, `keycard option "${option}": ${message}`)
    return true
  })
}

const cases: Array<[string, unknown, string, string]> = [
  ['not an object', null, 'options', 'createKeycard needs an options object, e.g. createKeycard({ secret: process.env.JWT_SECRET }).'],
  [
    'unknown option key (typo)',
    { secret: S, secretKey: S },
    'secretKey',
    'is not a keycard option; see the option table in the keycard README.',
  ],
  [
    'unknown algorithm',
    { secret: S, algorithm: 'HS257' },
    'algorithm',
    `unknown algorithm "HS257"; use one of ${ALGS} ('none' is never allowed).`,
  ],
  [
    "algorithm 'none'",
    { secret: S, algorithm: 'none' },
    'algorithm',
    `unknown algorithm "none"; use one of ${ALGS} ('none' is never allowed).`,
  ],
  [
    "'none' in decodeAlgorithms",
    { secret: S, decodeAlgorithms: ['HS256', 'none'] },
    'decodeAlgorithms',
    `unknown algorithm "none"; 'none' is never allowed.`,
  ],
  ['empty decodeAlgorithms', { secret: S, decodeAlgorithms: [] }, 'decodeAlgorithms', 'expected a non-empty array of algorithm names.'],
  [
    'HS256 secret shorter than 32 bytes',
    { secret: 'short' },
    'secret',
    'a HS256 secret must be at least 32 bytes, got 5; generate one with `openssl rand -base64 32`.',
  ],
  [
    'HS256 secret of 31 bytes',
    { secret: 'x'.repeat(31) },
    'secret',
    'a HS256 secret must be at least 32 bytes, got 31; generate one with `openssl rand -base64 32`.',
  ],
  [
    '31 bytes counted as UTF-8',
    { secret: `${'é'.repeat(15)}x` },
    'secret',
    'a HS256 secret must be at least 32 bytes, got 31; generate one with `openssl rand -base64 32`.',
  ],
  [
    'HS512 secret shorter than 64 bytes',
    { algorithm: 'HS512', secret: S },
    'secret',
    `a HS512 secret must be at least 64 bytes, got ${S.length}; generate one with \`openssl rand -base64 64\`.`,
  ],
  [
    'missing secret',
    {},
    'secret',
    'HS256 needs a secret of at least 32 bytes; pass secret: process.env.JWT_SECRET (generate one with `openssl rand -base64 32`), or set "algorithm" to an asymmetric algorithm.',
  ],
  [
    'secret that is not a string or bytes',
    { secret: 12345 },
    'secret',
    'HS256 needs a shared secret (a string or Uint8Array), got a number. Asymmetric keys go in "privateKey"/"publicKey" with an RS*, PS*, ES* or EdDSA algorithm.',
  ],
  [
    'privateKey with HS256',
    { secret: S, privateKey: RSA_PRIVATE },
    'privateKey',
    'HS256 is an HMAC algorithm and signs with "secret"; set "algorithm" to RS256, ES256, EdDSA, … to sign with a private key.',
  ],
  [
    'secret with RS256 only',
    { algorithm: 'RS256', secret: S },
    'secret',
    `a secret is only used by HS* algorithms, but "algorithm" is RS256; pass "privateKey"/"publicKey" instead, or set algorithm: 'HS256'.`,
  ],
  [
    'RS256 without keys',
    { algorithm: 'RS256' },
    'publicKey',
    'RS256 needs "publicKey" (to verify) and, to sign, "privateKey": PEM strings, JWKs, CryptoKeys or KeyObjects.',
  ],
  [
    'an EC key (PEM) for RS256',
    { algorithm: 'RS256', privateKey: EC_PRIVATE },
    'privateKey',
    'a ec (prime256v1) key cannot be used with RS256; use a key made for RS256 or change "algorithm".',
  ],
  [
    'an EC key (KeyObject) for PS256',
    { algorithm: 'PS256', publicKey: p384.publicKey },
    'publicKey',
    'a ec (secp384r1) key cannot be used with PS256; use a key made for PS256 or change "algorithm".',
  ],
  [
    'an RSA key for ES256',
    { algorithm: 'ES256', publicKey: RSA_PUBLIC },
    'publicKey',
    'a rsa key cannot be used with ES256; use a key made for ES256 or change "algorithm".',
  ],
  [
    'an RSA key for EdDSA',
    { algorithm: 'EdDSA', privateKey: RSA_PRIVATE },
    'privateKey',
    'a rsa key cannot be used with EdDSA; use a key made for EdDSA or change "algorithm".',
  ],
  [
    'an RSA key under 2048 bits',
    { algorithm: 'RS256', privateKey: small.privateKey },
    'privateKey',
    'RSA keys must be at least 2048 bits for RS256.',
  ],
  [
    'an RSA key under 2048 bits (PEM)',
    { algorithm: 'RS256', publicKey: small.publicKey.export({ type: 'spki', format: 'pem' }) },
    'publicKey',
    'RSA keys must be at least 2048 bits for RS256.',
  ],
  [
    'a P-384 key for ES256',
    { algorithm: 'ES256', privateKey: p384.privateKey },
    'privateKey',
    'a ec (secp384r1) key cannot be used with ES256; use a key made for ES256 or change "algorithm".',
  ],
  [
    'a P-384 key (PEM) for ES256',
    { algorithm: 'ES256', publicKey: p384.publicKey.export({ type: 'spki', format: 'pem' }) },
    'publicKey',
    'a ec (secp384r1) key cannot be used with ES256; use a key made for ES256 or change "algorithm".',
  ],
  [
    'a public key as privateKey',
    { algorithm: 'RS256', publicKey: RSA_PUBLIC, privateKey: RSA_PUBLIC },
    'privateKey',
    'RS256 signing needs a private key, got a public key; put public keys in "publicKey".',
  ],
  ['negative access lifetime', { secret: S, accessTokenExpires: -5 }, 'accessTokenExpires', `${LIFETIME} -5.`],
  ['zero access lifetime', { secret: S, accessTokenExpires: 0 }, 'accessTokenExpires', `${LIFETIME} 0.`],
  ['true as a lifetime', { secret: S, accessTokenExpires: true }, 'accessTokenExpires', `${LIFETIME} true.`],
  ['unparsable refresh lifetime', { secret: S, refreshTokenExpires: 'forever' }, 'refreshTokenExpires', `${LIFETIME} "forever".`],
  ['unknown unit', { secret: S, refreshTokenExpires: '30y' }, 'refreshTokenExpires', `${LIFETIME} "30y".`],
  ['negative leeway', { secret: S, leeway: -1 }, 'leeway', 'expected a number of seconds or a duration string, got -1.'],
  ['unparsable leeway', { secret: S, leeway: 'soon' }, 'leeway', 'expected a number of seconds or a duration string, got "soon".'],
  ['empty identityClaim', { secret: S, identityClaim: '' }, 'identityClaim', 'expected a non-empty string, got "".'],
  ['empty headerName', { secret: S, headerName: '' }, 'headerName', 'expected a non-empty string, got "".'],
  [
    'headerName with a space',
    { secret: S, headerName: 'X Auth' },
    'headerName',
    `"X Auth" is not a valid HTTP header name; use a single token such as 'Authorization' (letters, digits and !#$%&'*+.^_\`|~- only).`,
  ],
  [
    'headerType with a space',
    { secret: S, headerType: 'Bearer token' },
    'headerType',
    `expected a single word such as 'Bearer', or '' for a bare token; got "Bearer token".`,
  ],
  [
    'headerType with a comma',
    { secret: S, headerType: 'Bearer,' },
    'headerType',
    `expected a single word such as 'Bearer', or '' for a bare token; got "Bearer,".`,
  ],
  [
    'unknown tokenLocation',
    { secret: S, tokenLocation: ['headers', 'cookie'] },
    'tokenLocation',
    `unknown token location "cookie"; use any of 'headers', 'cookies', 'query_string', 'json'.`,
  ],
  [
    'empty tokenLocation',
    { secret: S, tokenLocation: [] },
    'tokenLocation',
    "expected at least one of 'headers', 'cookies', 'query_string', 'json'.",
  ],
  [
    'unknown responses key',
    { secret: S, responses: { notFound: () => ({ status: 404, body: null }) } },
    'responses.notFound',
    'is not a response builder; use one of unauthorized, invalid, expired, needsFresh, revoked, userLookup, verificationFailed.',
  ],
  [
    'response builder not a function',
    { secret: S, responses: { expired: 'Token has expired' } },
    'responses.expired',
    'expected a function, got string.',
  ],
  ['loader not a function', { secret: S, userLookup: { id: 1 } }, 'userLookup', 'expected a function, got object.'],
  [
    'async loader given as a promise',
    { secret: S, tokenInBlocklist: Promise.resolve(false) },
    'tokenInBlocklist',
    'expected a function, got object.',
  ],
  [
    'a public key with only HMAC algorithms',
    { secret: S, publicKey: 'unused' },
    'publicKey',
    "no asymmetric algorithm is accepted (decodeAlgorithms is HS256), so the public key would never be used; add e.g. 'RS256' to decodeAlgorithms, or drop publicKey.",
  ],
  ['boolean option given a string', { secret: S, verifySub: 'yes' }, 'verifySub', 'expected true or false, got "yes".'],
  ['maxTokenLength too small', { secret: S, maxTokenLength: 10 }, 'maxTokenLength', 'expected an integer of at least 64, got 10.'],
  ['negative cacheSize', { secret: S, cacheSize: -1 }, 'cacheSize', 'expected an integer of at least 0, got -1.'],
  [
    'empty decodeAudience list',
    { secret: S, decodeAudience: [] },
    'decodeAudience',
    'expected a non-empty string or a non-empty array of strings, got [].',
  ],
]

for (const [name, options, option, message] of cases) {
  test(`createKeycard refuses: ${name}`, () => refuses(options, option, message))
}

test('each case above names a different problem (no copy-paste duplicates)', () => {
  assert.equal(
    new Set(
      cases.map(([, o]) =>
        JSON.stringify(o, (_k, v) =>
          typeof v === 'object' && v?.constructor?.name === 'KeyObject'
            ? `${v.asymmetricKeyType}/${v.type}/${v.asymmetricKeyDetails?.namedCurve ?? v.asymmetricKeyDetails?.modulusLength}`
            : v,
        ),
      ),
    ).size,
    cases.length,
  )
})

test('the same options without the mistake are accepted', async () => {
  await createKeycard({ secret: S })
  await createKeycard({ secret: 'é'.repeat(16) })
  await createKeycard({ algorithm: 'RS256', privateKey: RSA_PRIVATE })
  await createKeycard({ algorithm: 'RS256', publicKey: RSA_PUBLIC })
  await createKeycard({ algorithm: 'ES256', privateKey: EC_PRIVATE })
  await createKeycard({
    secret: S,
    accessTokenExpires: false,
    refreshTokenExpires: '30d',
    leeway: '10s',
    headerType: '',
    tokenLocation: 'headers',
  })
})

test('jwtRequired options are checked once, through guardOptions', async () => {
  const keycard = await createKeycard({ secret: S })
  const guardRefuses = (options: unknown, option: string, message: string) =>
    assert.throws(
      () => keycard.guardOptions(options as never),
      (err: unknown) => {
        assert.ok(err instanceof KeycardOptionError)
        assert.equal(err.code, 'KEYCARD_OPTION_INVALID')
        assert.equal(err.option, option)
        assert.equal(err.message, `keycard option "${option}": ${message}`)
        return true
      },
    )
  guardRefuses(
    { bogus: true },
    'jwtRequired.bogus',
    'is not a jwtRequired option; use optional, fresh, refresh, locations, verifyType, skipRevocationCheck.',
  )
  guardRefuses(
    { fresh: true, refresh: true },
    'jwtRequired.fresh',
    'refresh tokens are never fresh; a route cannot require both fresh and refresh.',
  )
  guardRefuses({ optional: 'yes' }, 'jwtRequired.optional', 'expected true or false, got "yes".')
  guardRefuses(
    { locations: ['nowhere'] },
    'jwtRequired.locations',
    `unknown token location "nowhere"; use any of 'headers', 'cookies', 'query_string', 'json'.`,
  )
  // verifyJwtInRequest checks an unresolved options object the same way.
  await assert.rejects(keycard.verifyJwtInRequest({ method: 'GET', header: () => undefined }, { bogus: true } as never), {
    option: 'jwtRequired.bogus',
  })
  const guard = keycard.guardOptions({ fresh: true })
  assert.ok(Object.isFrozen(guard))
  assert.deepEqual(
    { ...guard },
    { optional: false, fresh: true, refresh: false, locations: ['headers'], verifyType: true, skipRevocationCheck: false },
  )
})

test('a verify-only keycard (publicKey only) verifies but refuses to mint, saying why', async () => {
  const minter = await createKeycard({ algorithm: 'RS256', privateKey: RSA_PRIVATE })
  const verifier = await createKeycard({ algorithm: 'RS256', publicKey: RSA_PUBLIC })
  const token = await minter.createAccessToken('svc')
  assert.equal((await verifier.decodeToken(token)).sub, 'svc')
  const message = 'keycard option "privateKey": this keycard only verifies; pass "privateKey" to mint RS256 tokens.'
  await assert.rejects(verifier.createAccessToken('svc'), {
    name: 'KeycardOptionError',
    code: 'KEYCARD_OPTION_INVALID',
    option: 'privateKey',
    message,
  })
  await assert.rejects(verifier.createRefreshToken('svc'), {
    name: 'KeycardOptionError',
    code: 'KEYCARD_OPTION_INVALID',
    option: 'privateKey',
    message,
  })
})

test('resolved options carry FJE defaults and are frozen', async () => {
  const { options } = await createKeycard({ secret: S })
  assert.ok(Object.isFrozen(options))
  assert.equal(options.algorithm, 'HS256')
  assert.deepEqual(options.decodeAlgorithms, ['HS256'])
  assert.equal(options.accessTokenExpires, 900)
  assert.equal(options.refreshTokenExpires, 2_592_000)
  assert.equal(options.leeway, 0)
  assert.equal(options.identityClaim, 'sub')
  assert.deepEqual(options.tokenLocation, ['headers'])
  assert.equal(options.headerName, 'Authorization')
  assert.equal(options.headerType, 'Bearer')
  assert.equal(options.errorMessageKey, 'msg')
  assert.equal(options.verifySub, true)
  assert.equal(options.encodeNbf, true)
  assert.equal(options.csrfProtect, true)
  assert.equal(options.strict, true)
  assert.equal(options.maxTokenLength, 8192)
  assert.equal(options.cacheSize, 10_000)
  // FJE appends JWT_ALGORITHM to JWT_DECODE_ALGORITHMS when missing.
  const both = await createKeycard({ secret: 'y'.repeat(48), algorithm: 'HS384', decodeAlgorithms: ['HS256'] })
  assert.deepEqual(both.options.decodeAlgorithms, ['HS256', 'HS384'])
})

test('createKeycard copies and freezes what it is given: changing the options, loaders or secret afterwards changes nothing', async () => {
  const secret = new TextEncoder().encode(S)
  const options = {
    secret,
    tokenLocation: ['headers'] as TokenLocation[],
    encodeAudience: ['api'],
    decodeAudience: ['api'],
    additionalClaims: () => ({ role: 'user' }),
    userLookup: (_h: JwtHeader, claims: JwtClaims) => ({ id: claims.sub }),
    responses: { unauthorized: (reason: string) => ({ status: 401, body: { why: reason } }) },
  } satisfies KeycardOptions
  const keycard = await createKeycard<unknown>(options)

  // Everything the caller still holds, changed after the fact.
  secret.fill(0)
  options.tokenLocation.push('cookies')
  options.encodeAudience.push('other')
  options.decodeAudience[0] = 'elsewhere'
  options.additionalClaims = () => ({ role: 'admin' })
  options.userLookup = () => ({ id: 'intruder' })
  options.responses.unauthorized = () => ({ status: 401, body: { why: 'changed' } })
  Object.assign(options, { leeway: 3600, strict: false })

  const token = await keycard.createAccessToken('42')
  const claims = await keycard.decodeToken(token)
  assert.equal(claims.role, 'user')
  assert.deepEqual(claims.aud, ['api'])
  // Signed with the secret as it was: a keycard made from a fresh copy of it verifies the token.
  assert.equal((await (await createKeycard({ secret: S, decodeAudience: 'api' })).decodeToken(token)).sub, '42')
  const view = (authorization?: string, cookie?: string) => ({
    method: 'GET',
    header: (name: string) => (name === 'authorization' ? authorization : undefined),
    cookie: (name: string) => (name === 'access_token_cookie' ? cookie : undefined),
  })
  const ctx = await keycard.verifyJwtInRequest(view(`Bearer ${token}`))
  assert.deepEqual(ctx?.user, { id: '42' })
  const missing = await keycard.verifyJwtInRequest(view(undefined, token)).catch((err: unknown) => err)
  assert.ok(missing instanceof KeycardError && missing.code === 'KEYCARD_NO_AUTHORIZATION', 'the cookie location was not added')
  assert.deepEqual(keycard.renderError(missing as NoAuthorizationError).body, { why: 'Missing Authorization Header' })
  assert.deepEqual(keycard.options.tokenLocation, ['headers'])
  assert.equal(keycard.options.leeway, 0)
  assert.equal(keycard.options.strict, true)
})

test('copyOptions freezes plain objects and arrays deeply and keeps functions, keys and stores as they are', async () => {
  const store = new MemoryRevocationStore()
  const loader = () => ({})
  const given = { a: [1, { b: 2 }], store, loader, bytes: new Uint8Array([1, 2]), nested: { list: ['x'] } }
  const copy = copyOptions(given)
  assert.deepEqual(copy, given)
  assert.ok(Object.isFrozen(copy) && Object.isFrozen(copy.a) && Object.isFrozen(copy.a[1]) && Object.isFrozen(copy.nested.list))
  assert.notEqual(copy.a, given.a)
  assert.notEqual(copy.bytes, given.bytes)
  assert.equal(copy.store, store)
  assert.equal(copy.loader, loader)
  assert.ok(!Object.isFrozen(store), 'a store is the caller’s object, never frozen')
  const cyclic: Record<string, unknown> = { name: 'loop' }
  cyclic.self = cyclic
  const copied = copyOptions(cyclic)
  assert.equal(copied.self, copied)
})
