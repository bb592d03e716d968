/**
 * Tokens from other issuers verify with `createKeycard({ jwks: url })` when their public key is in the
 * served JWKS: signed by jose (`SignJWT`) and by PyJWT (sign_with_kid.py under /usr/bin/python3), for
 * ES256, EdDSA and RS256. Their claims are not Flask-JWT-Extended's, so that keycard has `strict:
 * false`; PyJWT tokens in FJE's layout verify in strict mode too. A missing PyJWT fails, never skips.
 */

import assert from 'node:assert/strict'
import { spawnSync } from 'node:child_process'
import { generateKeyPairSync, randomUUID, type KeyObject } from 'node:crypto'
import { test } from 'node:test'
import { SignJWT, type JWK } from 'jose'
import { createKeycard } from 'keycard'
import { startKeySetServer } from '../harness.ts'

const PYTHON = '/usr/bin/python3'
const HERE = new URL('.', import.meta.url).pathname

const ALGS = ['ES256', 'EdDSA', 'RS256'] as const
type Alg = (typeof ALGS)[number]

const KEYS = Object.fromEntries(
  ALGS.map((alg) => {
    const pair =
      alg === 'ES256'
        ? generateKeyPairSync('ec', { namedCurve: 'P-256' })
        : alg === 'EdDSA'
          ? generateKeyPairSync('ed25519')
          : generateKeyPairSync('rsa', { modulusLength: 2048 })
    return [alg, pair]
  }),
) as Record<Alg, { privateKey: KeyObject; publicKey: KeyObject }>

/** The issuer's JWKS: each public key with kid, alg and use. */
const SET = {
  keys: ALGS.map((alg) => ({ ...(KEYS[alg].publicKey.export({ format: 'jwk' }) as JWK), kid: `kid-${alg}`, alg, use: 'sig' })),
}

interface PyItem {
  alg: Alg
  kid: string
  key: string
  claims: Record<string, unknown>
}

function pyjwtSign(items: PyItem[]): string[] {
  const run = spawnSync(PYTHON, [`${HERE}sign_with_kid.py`], { input: JSON.stringify({ items }), encoding: 'utf8' })
  if (run.error || run.status !== 0) {
    assert.fail(
      `PyJWT could not sign with ${PYTHON} (${run.error?.message ?? run.stderr.trim().split('\n').pop()}). ` +
        'Install it with `apt-get install python3-jwt python3-cryptography` (CI installs them); the interop tests do not skip.',
    )
  }
  const out = JSON.parse(run.stdout) as { pyjwt: string; tokens: string[] }
  assert.match(out.pyjwt, /^2\./)
  return out.tokens
}

const pem = (alg: Alg) => KEYS[alg].privateKey.export({ format: 'pem', type: 'pkcs8' }) as string
const now = () => Math.floor(Date.now() / 1000)

test('tokens signed by jose with a key of the served JWKS verify with createKeycard({ jwks: url })', async (t) => {
  const server = await startKeySetServer(t, SET, { 'cache-control': 'public, max-age=600' })
  const keycard = await createKeycard({ jwks: server.url, strict: false })
  for (const alg of ALGS) {
    const token = await new SignJWT({ role: 'reader' })
      .setProtectedHeader({ alg, kid: `kid-${alg}`, typ: 'JWT' })
      .setSubject(`jose-${alg}`)
      .setIssuedAt()
      .setExpirationTime('10m')
      .sign(KEYS[alg].privateKey)
    const claims = await keycard.decodeToken(token)
    assert.equal(claims.sub, `jose-${alg}`)
    assert.equal(claims.role, 'reader')
  }
  assert.equal(server.requests.length, 1)
})

test("tokens signed by PyJWT with a key of the served JWKS verify, in strict mode too with FJE's layout", async (t) => {
  const server = await startKeySetServer(t, SET)
  const lax = await createKeycard({ jwks: server.url, strict: false })
  const strict = await createKeycard({ jwks: server.url })
  const iat = now()
  const plain = pyjwtSign(ALGS.map((alg) => ({ alg, kid: `kid-${alg}`, key: pem(alg), claims: { sub: `py-${alg}`, iat, exp: iat + 600 } })))
  const fje = pyjwtSign(
    ALGS.map((alg) => ({
      alg,
      kid: `kid-${alg}`,
      key: pem(alg),
      claims: { fresh: false, iat, jti: randomUUID(), type: 'access', sub: `fje-${alg}`, nbf: iat, exp: iat + 600 },
    })),
  )
  for (const [i, alg] of ALGS.entries()) {
    assert.equal((await lax.decodeToken(plain[i]!)).sub, `py-${alg}`)
    const claims = await strict.decodeToken(fje[i]!)
    assert.equal(claims.sub, `fje-${alg}`)
    assert.equal(claims.type, 'access')
    // Strict mode refuses the plain layout (no jti/type): the mode is real.
    await assert.rejects(strict.decodeToken(plain[i]!), { code: 'KEYCARD_JWT_CLAIM_INVALID' })
  }

  // The check is real: a PyJWT token naming a served kid but signed by another key is refused.
  const stranger = generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey.export({ format: 'pem', type: 'pkcs8' }) as string
  const [forged] = pyjwtSign([{ alg: 'ES256', kid: 'kid-ES256', key: stranger, claims: { sub: 'x', iat, exp: iat + 600 } }])
  await assert.rejects(lax.decodeToken(forged!), { code: 'KEYCARD_JWT_SIGNATURE_INVALID' })
  // And one naming the EdDSA key's kid with ES256 is refused for its alg.
  const [confused] = pyjwtSign([{ alg: 'ES256', kid: 'kid-EdDSA', key: pem('ES256'), claims: { sub: 'x', iat, exp: iat + 600 } }])
  await assert.rejects(lax.decodeToken(confused!), { code: 'KEYCARD_JWT_ALG_NOT_ALLOWED' })
})
