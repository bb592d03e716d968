/**
 * Keys mode: several keys with kids, each pinning its algorithm; minting with the signing entry's kid;
 * rotation through setKeys and the emergency removeKey (cached verifications included); jwks()
 * publishing only public halves, which jose's createLocalJWKSet accepts.
 */

import assert from 'node:assert/strict'
import { constants, createHmac, generateKeyPairSync, sign, type KeyObject } from 'node:crypto'
import { test } from 'node:test'
import { CompactSign, createLocalJWKSet, jwtVerify } from 'jose'
import { createKeycard, type Algorithm, type KeyEntry } from 'keycard'

const SECRET = 'keycard-keyring-test-secret-0123456789'

function pair(alg: Algorithm): { privateKey: KeyObject; publicKey: KeyObject } {
  const curves: Record<string, string> = { ES256: 'P-256', ES384: 'P-384', ES512: 'P-521' }
  if (alg.startsWith('ES')) return generateKeyPairSync('ec', { namedCurve: curves[alg]! })
  if (alg === 'EdDSA') return generateKeyPairSync('ed25519')
  return generateKeyPairSync('rsa', { modulusLength: 2048 })
}

const es = pair('ES256')
const ed = pair('EdDSA')
const rs = pair('RS256')
const ps = pair('PS256')

const ENTRIES: KeyEntry[] = [
  { kid: 'es', algorithm: 'ES256', privateKey: es.privateKey },
  { kid: 'ed', algorithm: 'EdDSA', privateKey: ed.privateKey },
]

function header(token: string): Record<string, unknown> {
  return JSON.parse(Buffer.from(token.split('.')[0]!, 'base64url').toString())
}

async function refused(promise: Promise<unknown>, code: string, message?: string): Promise<void> {
  await assert.rejects(promise, (err: { code?: string; status?: number; message?: string }) => {
    assert.equal(err.code, code)
    assert.equal(err.status, 422)
    if (message !== undefined) assert.equal(err.message, message)
    return true
  })
}

/** A token in FJE's layout, signed with `key` under any header (for the attacks). */
async function forge(headerFields: Record<string, unknown>, key: KeyObject | Uint8Array): Promise<string> {
  const now = Math.floor(Date.now() / 1000)
  const claims = { fresh: false, iat: now, jti: 'j1', type: 'access', sub: '42', nbf: now, exp: now + 600 }
  return new CompactSign(new TextEncoder().encode(JSON.stringify(claims))).setProtectedHeader(headerFields as { alg: string }).sign(key)
}

test("tokens carry the signing entry's kid and alg, and verify across both kids", async () => {
  const keycard = await createKeycard({ keys: ENTRIES, signingKid: 'es' })
  const first = await keycard.createAccessToken('42')
  assert.deepEqual(header(first), { alg: 'ES256', kid: 'es', typ: 'JWT' })
  await keycard.setKeys(ENTRIES, 'ed')
  const second = await keycard.createAccessToken('43')
  assert.deepEqual(header(second), { alg: 'EdDSA', kid: 'ed', typ: 'JWT' })
  assert.equal((await keycard.decodeToken(first)).sub, '42')
  assert.equal((await keycard.decodeToken(second)).sub, '43')
  // A verify-only keycard holding only the public halves verifies both.
  const verifier = await createKeycard({
    keys: [
      { kid: 'es', algorithm: 'ES256', publicKey: es.publicKey },
      { kid: 'ed', algorithm: 'EdDSA', publicKey: ed.publicKey },
    ],
  })
  assert.equal((await verifier.decodeToken(first)).sub, '42')
  assert.equal((await verifier.decodeToken(second)).sub, '43')
  await assert.rejects(verifier.createAccessToken('42'), { code: 'KEYCARD_OPTION_INVALID', option: 'signingKid' })
})

test('the only entry that can sign signs by default', async () => {
  const keycard = await createKeycard({
    keys: [
      { kid: 'old', algorithm: 'ES256', publicKey: es.publicKey },
      { kid: 'new', algorithm: 'EdDSA', privateKey: ed.privateKey },
    ],
  })
  assert.equal(header(await keycard.createAccessToken('42')).kid, 'new')
  assert.equal(keycard.options.algorithm, 'EdDSA')
})

test('rotation with setKeys: an old kid verifies while listed, and is refused once dropped, cached or not', async () => {
  const keycard = await createKeycard({ keys: [ENTRIES[0]!] })
  const old = await keycard.createAccessToken('42')
  // Three sightings: the verification is in the cache (admitted on the second).
  for (let i = 0; i < 3; i++) await keycard.decodeToken(old)
  await keycard.setKeys([ENTRIES[1]!, { kid: 'es', algorithm: 'ES256', publicKey: es.publicKey }], 'ed')
  assert.equal((await keycard.decodeToken(old)).sub, '42', 'still listed (public half only): still verifies')
  const fresh = await keycard.createAccessToken('43')
  assert.equal(header(fresh).kid, 'ed')
  await keycard.setKeys([ENTRIES[1]!])
  await refused(keycard.decodeToken(old), 'KEYCARD_JWT_KID_UNKNOWN', 'The token\'s "kid" does not match any known key')
  assert.equal((await keycard.decodeToken(fresh)).sub, '43')
})

test("a kid whose key material changes in setKeys no longer serves the old key's cached verifications", async () => {
  const keycard = await createKeycard({ keys: [{ kid: 'k', algorithm: 'ES256', privateKey: es.privateKey }] })
  const token = await keycard.createAccessToken('42')
  for (let i = 0; i < 3; i++) await keycard.decodeToken(token)
  const other = pair('ES256')
  await keycard.setKeys([{ kid: 'k', algorithm: 'ES256', privateKey: other.privateKey }])
  await refused(keycard.decodeToken(token), 'KEYCARD_JWT_SIGNATURE_INVALID')
})

test('removeKey refuses at once even a token verified (and cached) a moment before', async () => {
  const keycard = await createKeycard({ keys: ENTRIES, signingKid: 'es' })
  const token = await keycard.createAccessToken('42')
  for (let i = 0; i < 3; i++) await keycard.decodeToken(token)
  assert.equal(keycard.removeKey('es'), true)
  await refused(keycard.decodeToken(token), 'KEYCARD_JWT_KID_UNKNOWN')
  assert.equal(keycard.removeKey('es'), false)
  // The signing key is gone: the keycard is verify-only until setKeys names another.
  await assert.rejects(keycard.createAccessToken('42'), { code: 'KEYCARD_OPTION_INVALID', option: 'signingKid' })
})

test('the pinned algorithm: a kid of an ES256 key with alg EdDSA or HS256 is refused (algorithm confusion)', async () => {
  const keycard = await createKeycard({
    keys: [...ENTRIES, { kid: 'hs', algorithm: 'HS256', secret: SECRET }],
    signingKid: 'es',
  })
  const pem = es.publicKey.export({ format: 'pem', type: 'spki' }) as string
  const attempts = [
    await forge({ alg: 'EdDSA', kid: 'es', typ: 'JWT' }, ed.privateKey),
    await forge({ alg: 'HS256', kid: 'es', typ: 'JWT' }, new TextEncoder().encode(pem)),
    await forge({ alg: 'HS256', kid: 'es', typ: 'JWT' }, new TextEncoder().encode(SECRET)),
    await forge({ alg: 'ES256', kid: 'hs', typ: 'JWT' }, es.privateKey),
  ]
  for (const token of attempts)
    await refused(keycard.decodeToken(token), 'KEYCARD_JWT_ALG_NOT_ALLOWED', 'The specified alg value is not allowed')
  // A verify-only keyring of asymmetric keys accepts no HS* at all, whatever the kid.
  const verifier = await createKeycard({ keys: [{ kid: 'es', algorithm: 'ES256', publicKey: es.publicKey }] })
  const mac = await forge({ alg: 'HS256', kid: 'es' }, createHmac('sha256', 'x').digest())
  await refused(verifier.decodeToken(mac), 'KEYCARD_JWT_ALG_NOT_ALLOWED')
  // The genuine article verifies.
  assert.equal((await keycard.decodeToken(await forge({ alg: 'ES256', kid: 'es', typ: 'JWT' }, es.privateKey))).sub, '42')
})

test('a token without kid is refused with KID_MISSING; an unknown kid with KID_UNKNOWN (never echoed)', async () => {
  const keycard = await createKeycard({ keys: ENTRIES, signingKid: 'es' })
  await refused(
    keycard.decodeToken(await forge({ alg: 'ES256', typ: 'JWT' }, es.privateKey)),
    'KEYCARD_JWT_KID_MISSING',
    'The token has no "kid" header; this keycard needs it to pick the key',
  )
  const unknown = await forge({ alg: 'ES256', kid: '<script>evil</script>' }, es.privateKey)
  await assert.rejects(keycard.decodeToken(unknown), (err: Error & { code: string }) => {
    assert.equal(err.code, 'KEYCARD_JWT_KID_UNKNOWN')
    assert.ok(!err.message.includes('evil'))
    return true
  })
})

test('additionalHeaders cannot override kid in keys mode', async () => {
  const keycard = await createKeycard({ keys: ENTRIES, signingKid: 'es' })
  await assert.rejects(keycard.createAccessToken('42', { additionalHeaders: { kid: 'ed' } }), {
    code: 'KEYCARD_OPTION_INVALID',
    message: 'keycard option "additionalHeaders": "kid" is set by keycard and cannot be overridden.',
  })
})

test('setKeys with a bad entry rejects and changes nothing', async () => {
  const keycard = await createKeycard({ keys: ENTRIES, signingKid: 'es' })
  const token = await keycard.createAccessToken('42')
  await assert.rejects(keycard.setKeys([{ kid: 'x', algorithm: 'ES256', privateKey: ed.privateKey }]), {
    code: 'KEYCARD_OPTION_INVALID',
    option: 'setKeys[0].privateKey',
  })
  await assert.rejects(keycard.setKeys(ENTRIES), { option: 'signingKid' })
  assert.equal((await keycard.decodeToken(token)).sub, '42')
  assert.equal(header(await keycard.createAccessToken('42')).kid, 'es')
})

test('overlapping setKeys calls resolve in call order; a key removed during one stays removed', async () => {
  const keycard = await createKeycard({ keys: ENTRIES, signingKid: 'es' })
  const edToken = await (await createKeycard({ keys: [ENTRIES[1]!] })).createAccessToken('42')
  // The first call imports JWKs (more awaits), the second a KeyObject: whichever finishes first, the second wins.
  const asJwk = ENTRIES.map((e) => ({ ...e, privateKey: (e.privateKey as KeyObject).export({ format: 'jwk' }) }))
  await Promise.all([keycard.setKeys(asJwk, 'ed'), keycard.setKeys([ENTRIES[0]!], 'es')])
  assert.equal(header(await keycard.createAccessToken('42')).kid, 'es')
  await refused(keycard.decodeToken(edToken), 'KEYCARD_JWT_KID_UNKNOWN')

  const pending = keycard.setKeys(ENTRIES, 'ed')
  assert.equal(keycard.removeKey('ed'), false, 'not there yet')
  await pending
  await refused(keycard.decodeToken(edToken), 'KEYCARD_JWT_KID_UNKNOWN')
  await assert.rejects(keycard.createAccessToken('42'), { option: 'signingKid' }, 'its signer was removed: verify-only')
  // A call made after the removal brings it back: that is the caller's choice.
  await keycard.setKeys(ENTRIES, 'ed')
  assert.equal((await keycard.decodeToken(edToken)).sub, '42')
})

test('an empty keyring refuses every token until setKeys gives it keys', async () => {
  const keycard = await createKeycard({ keys: [] })
  const token = await (await createKeycard({ keys: [ENTRIES[0]!] })).createAccessToken('42')
  await refused(keycard.decodeToken(token), 'KEYCARD_JWT_KID_UNKNOWN')
  await assert.rejects(keycard.createAccessToken('42'), { option: 'signingKid' })
  assert.deepEqual(keycard.jwks(), { keys: [] })
  await keycard.setKeys([ENTRIES[0]!])
  assert.equal((await keycard.decodeToken(token)).sub, '42')
})

test('setKeys, removeKey refuse a keycard that is not in keys mode', async () => {
  const keycard = await createKeycard({ secret: SECRET })
  await assert.rejects(keycard.setKeys(ENTRIES, 'es'), { code: 'KEYCARD_OPTION_INVALID', option: 'keys' })
  assert.throws(() => keycard.removeKey('es'), { code: 'KEYCARD_OPTION_INVALID', option: 'keys' })
})

const OPTION_ERRORS: [string, Record<string, unknown>, string, RegExp][] = [
  ['keys with secret', { keys: ENTRIES, signingKid: 'es', secret: SECRET }, 'secret', /cannot be combined with "keys"/],
  ['keys with privateKey', { keys: ENTRIES, signingKid: 'es', privateKey: es.privateKey }, 'privateKey', /cannot be combined/],
  ['keys with algorithm', { keys: ENTRIES, signingKid: 'es', algorithm: 'ES256' }, 'algorithm', /pins its own algorithm/],
  ['keys with decodeKey', { keys: ENTRIES, signingKid: 'es', decodeKey: () => SECRET }, 'decodeKey', /cannot be combined/],
  ['two signers without signingKid', { keys: ENTRIES }, 'signingKid', /2 entries can sign \(es, ed\); name the one/],
  ['signingKid naming no entry', { keys: ENTRIES, signingKid: 'zz' }, 'signingKid', /no entry has kid "zz"/],
  [
    'signingKid naming a verify-only entry',
    { keys: [{ kid: 'p', algorithm: 'ES256', publicKey: es.publicKey }], signingKid: 'p' },
    'signingKid',
    /cannot sign: it needs a privateKey/,
  ],
  ['duplicate kid', { keys: [ENTRIES[0], { ...ENTRIES[1], kid: 'es' }] }, 'keys[1].kid', /used by two entries/],
  ['empty kid', { keys: [{ ...ENTRIES[0], kid: '' }] }, 'keys[0].kid', /non-empty string/],
  ['unknown algorithm', { keys: [{ ...ENTRIES[0], algorithm: 'none' }] }, 'keys[0].algorithm', /unknown algorithm "none"/],
  ['HS entry without secret', { keys: [{ kid: 'h', algorithm: 'HS256' }] }, 'keys[0].secret', /needs a secret/],
  ['HS entry with a key', { keys: [{ kid: 'h', algorithm: 'HS256', secret: SECRET, publicKey: es.publicKey }] }, 'keys[0]', /HMAC/],
  ['asymmetric entry with a secret', { keys: [{ kid: 'a', algorithm: 'ES256', secret: SECRET }] }, 'keys[0].secret', /asymmetric/],
  ['asymmetric entry without key', { keys: [{ kid: 'a', algorithm: 'ES256' }] }, 'keys[0]', /needs a privateKey/],
  ['unknown entry field', { keys: [{ ...ENTRIES[0], use: 'sig' }] }, 'keys[0].use', /not a key entry field/],
  ['keys not an array', { keys: ENTRIES[0] }, 'keys', /expected an array/],
  [
    'key of the wrong type',
    { keys: [{ kid: 'a', algorithm: 'ES256', privateKey: ed.privateKey }] },
    'keys[0].privateKey',
    /cannot be used with ES256/,
  ],
  [
    'mismatched pair',
    { keys: [{ kid: 'a', algorithm: 'ES256', privateKey: es.privateKey, publicKey: pair('ES256').publicKey }] },
    'keys[0].publicKey',
    /not the public half/,
  ],
  [
    'jwks with keys',
    { keys: ENTRIES, signingKid: 'es', jwks: 'https://auth.example.com/jwks.json' },
    'jwks',
    /cannot be combined with "keys"/,
  ],
  ['signingKid without keys', { secret: SECRET, signingKid: 'es' }, 'signingKid', /only applies with "keys"/],
  ['jwksOptions without jwks', { secret: SECRET, jwksOptions: {} }, 'jwksOptions', /only applies with "jwks"/],
  ['jwks with secret', { jwks: 'https://auth.example.com/jwks.json', secret: SECRET }, 'secret', /cannot be combined with "jwks"/],
  [
    'jwks with publicKey',
    { jwks: 'https://auth.example.com/jwks.json', publicKey: es.publicKey },
    'publicKey',
    /the key set gives the keys/,
  ],
  ['jwks with signingKid', { jwks: 'https://auth.example.com/jwks.json', signingKid: 'k' }, 'signingKid', /only verifies/],
  ['jwks not a URL', { jwks: 'auth.example.com/jwks.json' }, 'jwks', /expected the URL of a key set/],
  ['jwks not http(s)', { jwks: 'file:///etc/jwks.json' }, 'jwks', /must be http: or https:, got file:/],
  ['a jwks object without keys', { jwks: { key: [] } }, 'jwks', /no "keys" array/],
  [
    'an unknown jwksOptions field',
    { jwks: 'https://a.example/jwks.json', jwksOptions: { ttl: 5 } },
    'jwksOptions.ttl',
    /not a jwksOptions field/,
  ],
  [
    'a bad duration',
    { jwks: 'https://a.example/jwks.json', jwksOptions: { cooldown: '30 seconds' } },
    'jwksOptions.cooldown',
    /duration such as/,
  ],
  ['a zero timeout', { jwks: 'https://a.example/jwks.json', jwksOptions: { timeout: 0 } }, 'jwksOptions.timeout', /a positive number/],
  [
    'fetch not a function',
    { jwks: 'https://a.example/jwks.json', jwksOptions: { fetch: 'curl' } },
    'jwksOptions.fetch',
    /expected a function/,
  ],
]

for (const [name, options, option, message] of OPTION_ERRORS) {
  test(`createKeycard refuses: ${name}`, async () => {
    await assert.rejects(createKeycard(options), (err: Error & { code: string; option: string }) => {
      assert.equal(err.code, 'KEYCARD_OPTION_INVALID')
      assert.equal(err.option, option)
      assert.match(err.message, message)
      return true
    })
  })
}

const PRIVATE_MEMBERS = ['d', 'p', 'q', 'dp', 'dq', 'qi', 'k', 'oth']

test('jwks(): only public halves, with kid, alg and use; HMAC entries absent; jose verifies every token with it', async () => {
  const entries: KeyEntry[] = [
    { kid: 'es', algorithm: 'ES256', privateKey: es.privateKey },
    { kid: 'ed', algorithm: 'EdDSA', privateKey: ed.privateKey.export({ format: 'pem', type: 'pkcs8' }) as string },
    { kid: 'rs', algorithm: 'RS256', privateKey: rs.privateKey.export({ format: 'jwk' }) },
    { kid: 'ps', algorithm: 'PS256', privateKey: ps.privateKey },
    { kid: 'hs', algorithm: 'HS256', secret: SECRET },
  ]
  const keycard = await createKeycard({ keys: entries, signingKid: 'es' })
  const set = keycard.jwks()
  assert.deepEqual(
    set.keys.map((k) => [k.kid, k.alg, k.use, k.kty]),
    [
      ['es', 'ES256', 'sig', 'EC'],
      ['ed', 'EdDSA', 'sig', 'OKP'],
      ['rs', 'RS256', 'sig', 'RSA'],
      ['ps', 'PS256', 'sig', 'RSA'],
    ],
  )
  const published = JSON.parse(JSON.stringify(set)) as { keys: Record<string, unknown>[] }
  for (const key of published.keys) {
    for (const member of PRIVATE_MEMBERS) assert.equal(key[member], undefined, `${key.kid} has no "${member}"`)
  }
  assert.ok(!JSON.stringify(set).includes(Buffer.from(SECRET).toString('base64url')), 'the HMAC secret appears nowhere')
  // Changing what jwks() returned changes nothing in the keycard.
  set.keys[0]!.x = 'tampered'
  assert.notEqual(keycard.jwks().keys[0]!.x, 'tampered')

  const local = createLocalJWKSet(keycard.jwks())
  for (const kid of ['es', 'ed', 'rs', 'ps']) {
    await keycard.setKeys(entries, kid)
    const token = await keycard.createAccessToken(`user-${kid}`)
    const { payload, protectedHeader } = await jwtVerify(token, local)
    assert.equal(payload.sub, `user-${kid}`)
    assert.equal(protectedHeader.kid, kid)
  }
})

test('an RSA-PSS (id-RSASSA-PSS) key verifies but is not published: node cannot write it as a JWK', async () => {
  const pss = generateKeyPairSync('rsa-pss', { modulusLength: 2048 })
  const now = Math.floor(Date.now() / 1000)
  const input = `${b64({ alg: 'PS256', kid: 'pss', typ: 'JWT' })}.${b64({ fresh: false, iat: now, jti: 'j', type: 'access', sub: '42', nbf: now, exp: now + 600 })}`
  const signature = sign('sha256', Buffer.from(input), { key: pss.privateKey, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: 32 })
  const token = `${input}.${signature.toString('base64url')}`
  const keycard = await createKeycard({ keys: [{ kid: 'pss', algorithm: 'PS256', publicKey: pss.publicKey }, ENTRIES[0]!] })
  assert.equal((await keycard.decodeToken(token)).sub, '42')
  assert.deepEqual(
    keycard.jwks().keys.map((k) => k.kid),
    ['es'],
  )
  const single = await createKeycard({ algorithm: 'PS256', publicKey: pss.publicKey })
  assert.equal((await single.decodeToken(token)).sub, '42')
  assert.deepEqual(single.jwks(), { keys: [] })
})

const b64 = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url')

test('jwks() of a single-key keycard: its public key under its RFC 7638 thumbprint; of an HMAC keycard: empty', async () => {
  const single = await createKeycard({ algorithm: 'ES256', privateKey: es.privateKey })
  const [key, ...rest] = single.jwks().keys
  assert.equal(rest.length, 0)
  assert.equal(key!.alg, 'ES256')
  assert.equal(key!.use, 'sig')
  assert.equal(key!.d, undefined)
  assert.match(key!.kid!, /^[A-Za-z0-9_-]{43}$/)
  assert.deepEqual((await createKeycard({ secret: SECRET })).jwks(), { keys: [] })
})
