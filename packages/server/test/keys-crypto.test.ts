/**
 * The keyring's building blocks without a database: sealing private keys (AES-256-GCM, HKDF-derived
 * key, kid as AAD), generating key pairs and their kids, the transition plan as a pure function, and
 * the KEYS_CHANNEL payload parser.
 */

import assert from 'node:assert/strict'
import { createPrivateKey } from 'node:crypto'
import { describe, test } from 'node:test'
import { calculateJwkThumbprint, importJWK, jwtVerify, SignJWT } from 'jose'
import { deriveKey, open, seal } from '../src/keys/crypto.ts'
import { KeyringError } from '../src/keys/errors.ts'
import { generateSigningKey } from '../src/keys/generate.ts'
import { KEYS_CHANNEL, parseKeyNotification } from '../src/keys/notifications.ts'
import { dueAt, plan } from '../src/keys/plan.ts'

const SECRET = 'a-keys-secret-of-at-least-32-bytes!!'
const KID = 'NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs'

function code(fn: () => unknown): string {
  try {
    fn()
  } catch (err) {
    assert.ok(err instanceof KeyringError, String(err))
    return err.code
  }
  assert.fail('expected a KeyringError')
}

describe('seal and open', () => {
  test('a sealed key opens with the same secret and kid, and every seal has its own IV', () => {
    const key = deriveKey(SECRET)
    assert.equal(key.length, 32)
    assert.deepEqual(deriveKey(SECRET), key, 'derivation is deterministic')
    assert.notDeepEqual(deriveKey(`${SECRET}x`), key)
    const a = seal(key, KID, 'private material')
    const b = seal(key, KID, 'private material')
    assert.notEqual(a, b)
    assert.notEqual(a.split('.')[1], b.split('.')[1], 'a random IV per seal')
    assert.equal(Buffer.from(a.split('.')[1]!, 'base64url').length, 12, '96-bit IV')
    assert.equal(open(key, KID, a), 'private material')
    assert.ok(!a.includes('private') && !a.includes(Buffer.from('private material').toString('base64url')))
  })

  test('another secret, another kid (the AAD) or a changed byte is KEYS_SECRET_MISMATCH, naming the kid only', () => {
    const sealed = seal(deriveKey(SECRET), KID, 'private material')
    const wrong = 'another-secret-of-at-least-32-bytes!!'
    let message = ''
    try {
      open(deriveKey(wrong), KID, sealed)
    } catch (err) {
      assert.ok(err instanceof KeyringError)
      assert.equal(err.code, 'KEYS_SECRET_MISMATCH')
      message = err.message
    }
    assert.match(message, new RegExp(`KEYS_SECRET does not decrypt the keyring: the private key of signing key ${KID}`))
    assert.match(message, /Set KEYS_SECRET to the secret the keyring was created with/)
    assert.ok(!message.includes(wrong) && !message.includes(SECRET))
    // Copied onto another row: the kid is authenticated.
    assert.equal(
      code(() => open(deriveKey(SECRET), 'another-kid', sealed)),
      'KEYS_SECRET_MISMATCH',
    )
    const [v, iv, data, tag] = sealed.split('.')
    const flipped = Buffer.from(data!, 'base64url')
    flipped[0]! ^= 1
    assert.equal(
      code(() => open(deriveKey(SECRET), KID, [v, iv, flipped.toString('base64url'), tag].join('.'))),
      'KEYS_SECRET_MISMATCH',
    )
  })

  test('what is not a sealed key is KEYRING_CORRUPT', () => {
    const key = deriveKey(SECRET)
    for (const bad of ['', '-----BEGIN PRIVATE KEY-----', 'v2.a.b.c', 'v1.AAAA.AAAA.AAAA', 'v1.a.b'])
      assert.equal(
        code(() => open(key, KID, bad)),
        'KEYRING_CORRUPT',
        JSON.stringify(bad),
      )
  })
})

describe('generateSigningKey', () => {
  for (const [algorithm, kty, keyType] of [
    ['ES256', 'EC', 'ec'],
    ['EdDSA', 'OKP', 'ed25519'],
    ['RS256', 'RSA', 'rsa'],
    ['PS256', 'RSA', 'rsa'],
  ] as const) {
    test(`${algorithm}: a ${keyType} key pair, kid = RFC 7638 thumbprint, public JWK only, signs and verifies`, async () => {
      const key = await generateSigningKey(algorithm)
      assert.equal(key.algorithm, algorithm)
      assert.equal(key.publicJwk.kty, kty)
      assert.deepEqual([key.publicJwk.kid, key.publicJwk.alg, key.publicJwk.use], [key.kid, algorithm, 'sig'])
      const { kid, alg, use, ...bare } = key.publicJwk
      assert.equal(await calculateJwkThumbprint(bare, 'sha256'), key.kid)
      assert.match(key.kid, /^[A-Za-z0-9_-]{43}$/)
      for (const member of ['d', 'p', 'q', 'dp', 'dq', 'qi', 'k', 'oth']) assert.equal(member in key.publicJwk, false, member)
      const privateKey = createPrivateKey(key.privatePem)
      assert.equal(privateKey.asymmetricKeyType, keyType)
      if (keyType === 'rsa') assert.equal(privateKey.asymmetricKeyDetails?.modulusLength, 2048)
      if (keyType === 'ec') assert.equal(privateKey.asymmetricKeyDetails?.namedCurve, 'prime256v1')
      const token = await new SignJWT({ sub: '1' }).setProtectedHeader({ alg: algorithm, kid: key.kid }).sign(privateKey)
      assert.equal((await jwtVerify(token, await importJWK(key.publicJwk, algorithm))).payload.sub, '1')
      assert.notEqual((await generateSigningKey(algorithm)).kid, key.kid)
    })
  }
})

describe('plan', () => {
  const policy = { algorithm: 'ES256', rotationInterval: 1000, publishLead: 100, tokenLifetime: 50 } as const
  const key = (kid: string, state: 'next' | 'current' | 'previous', fields: Record<string, number | null> = {}) => ({
    kid,
    algorithm: 'ES256' as const,
    state,
    createdAt: 0,
    activateAt: null,
    activatedAt: null,
    verifyUntil: null,
    ...fields,
  })

  test('each situation and what advance does about it', () => {
    assert.deepEqual(plan([], 5, policy).steps, [{ kind: 'create-current' }])
    const current = key('a', 'current', { activatedAt: 0 })
    assert.deepEqual(plan([current], 899, policy).steps, [])
    assert.deepEqual(plan([current], 900, policy).steps, [{ kind: 'publish-next', activateAt: 1000 }])
    assert.deepEqual(plan([current], 950, policy).steps, [{ kind: 'publish-next', activateAt: 1050 }], 'never less than one lead away')
    const next = key('b', 'next', { createdAt: 900, activateAt: 1000 })
    assert.deepEqual(plan([current, next], 999, policy).steps, [])
    assert.deepEqual(plan([current, next], 1000, policy).steps, [{ kind: 'promote', kid: 'b', demote: 'a' }])
    assert.deepEqual(plan([next], 10, policy).steps, [{ kind: 'promote', kid: 'b', demote: undefined }], 'no current: the next key at once')
    const previous = key('z', 'previous', { verifyUntil: 1150 })
    const promoted = key('b', 'current', { activatedAt: 1000 })
    assert.deepEqual(plan([previous, promoted], 1149, policy).steps, [])
    assert.deepEqual(plan([previous, promoted], 1150, policy).steps, [{ kind: 'retire', kid: 'z' }])
    const other = { ...policy, algorithm: 'EdDSA' as const }
    assert.deepEqual(plan([current], 10, other).steps, [{ kind: 'publish-next', activateAt: 110 }], 'JWT_ALGORITHM changed')
    assert.deepEqual(plan([current, next], 10, other).steps, [
      { kind: 'retire', kid: 'b' },
      { kind: 'publish-next', activateAt: 110 },
    ])
  })

  test('dueAt is the first time plan has work', () => {
    const current = key('a', 'current', { activatedAt: 0 })
    assert.equal(dueAt([], 5, policy), 5)
    assert.equal(dueAt([current], 5, policy), 900)
    assert.equal(dueAt([current, key('b', 'next', { activateAt: 1000 })], 950, policy), 1000)
    assert.equal(dueAt([key('z', 'previous', { verifyUntil: 300 }), current], 5, policy), 300)
    assert.equal(dueAt([current], 5, { ...policy, algorithm: 'RS256' }), 5)
  })
})

test('parseKeyNotification reads the trigger payload and nothing else', () => {
  assert.equal(KEYS_CHANNEL, 'keycard_keys')
  assert.deepEqual(parseKeyNotification(`retired:${KID}`), { state: 'retired', kid: KID })
  assert.deepEqual(parseKeyNotification(`next:${KID}`), { state: 'next', kid: KID })
  for (const bad of ['', 'retired', 'retired:', `:${KID}`, `gone:${KID}`, `current:${'x'.repeat(65)}`])
    assert.equal(parseKeyNotification(bad), undefined, JSON.stringify(bad))
})
