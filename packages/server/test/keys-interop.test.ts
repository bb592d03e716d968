/**
 * A keyring-mode server's tokens verify with the verifiers resource servers in other stacks use, over
 * real HTTP, for every signing algorithm the server offers:
 *  - jose's `createRemoteJWKSet` on the server's `/.well-known/jwks.json`, with the discovery document's issuer;
 *  - PyJWT's `PyJWKClient` on the same URL (fixtures/verify_jwks.py, a real python3 subprocess);
 *  - Flask-JWT-Extended configured with the public key: FJE is not installable here, so the script makes
 *    FJE's own decode call, `jwt.decode(token, JWT_PUBLIC_KEY, algorithms=[JWT_ALGORITHM], issuer=…)`,
 *    with the PEM that `keycard keys list --pem` prints, and the test checks FJE's claim layout.
 * A tampered token and a wrong issuer are refused by each, so the checks can fail.
 */

import assert from 'node:assert/strict'
import { spawn, spawnSync } from 'node:child_process'
import { createPublicKey } from 'node:crypto'
import { fileURLToPath } from 'node:url'
import { describe, test } from 'node:test'
import { calculateJwkThumbprint, createRemoteJWKSet, decodeProtectedHeader, type JWK, jwtVerify } from 'jose'
import { claimsOf, startServer, type TestServer } from './helpers.ts'
import { keycardCli } from './instances.ts'

const PYTHON = '/usr/bin/python3'
const SCRIPT = fileURLToPath(new URL('./fixtures/verify_jwks.py', import.meta.url))
const ALGORITHMS = ['ES256', 'EdDSA', 'RS256', 'PS256'] as const
type SigningAlgorithm = (typeof ALGORITHMS)[number]
/** FJE's claims, in the order FJE writes them (flask_jwt_extended.tokens._encode_jwt). */
const FJE_CLAIMS = ['fresh', 'iat', 'jti', 'type', 'sub', 'nbf', 'csrf'] as const

/** Fails with what to install when PyJWT, its PyJWKClient or the cryptography package (EC, Ed25519, RSA keys) is missing. */
function requirePyjwt(): void {
  const probe = spawnSync(PYTHON, ['-c', 'import cryptography, jwt; from jwt import PyJWKClient; print(jwt.__version__)'], {
    encoding: 'utf8',
  })
  if (probe.error || probe.status !== 0) {
    assert.fail(
      `${PYTHON} cannot import PyJWT with PyJWKClient and cryptography (${probe.error?.message ?? probe.stderr.trim().split('\n').pop()}). ` +
        'Install them with `apt-get install python3-jwt python3-cryptography`; these interop tests do not skip.',
    )
  }
}

interface PyOutcome {
  ok: boolean
  claims?: Record<string, unknown>
  kid?: string
  error?: string
}

interface PyItem {
  token: string
  alg: SigningAlgorithm
  issuer: string
  pem: string
}

/** Runs fixtures/verify_jwks.py asynchronously: the server it fetches the JWKS from runs in this process. */
function verifyWithPython(jwksUrl: string, items: PyItem[]): Promise<{ jwks: PyOutcome; fje: PyOutcome }[]> {
  return new Promise((resolve, reject) => {
    const child = spawn(PYTHON, [SCRIPT], { stdio: ['pipe', 'pipe', 'pipe'] })
    let out = ''
    let err = ''
    child.stdout.setEncoding('utf8').on('data', (d: string) => {
      out += d
    })
    child.stderr.setEncoding('utf8').on('data', (d: string) => {
      err += d
    })
    child.once('error', reject)
    child.once('close', (code) => {
      if (code !== 0) return reject(new Error(`verify_jwks.py exited with ${code}: ${err}`))
      try {
        resolve((JSON.parse(out) as { results: { jwks: PyOutcome; fje: PyOutcome }[] }).results)
      } catch {
        reject(new Error(`verify_jwks.py printed no JSON: ${out} ${err}`))
      }
    })
    child.stdin.end(JSON.stringify({ jwks_url: jwksUrl, items }))
  })
}

/** `keycard keys list --pem` on the server's database; the PEM whose key's thumbprint is `kid`. */
async function pemOfKid(t: Parameters<typeof startServer>[0], server: TestServer, alg: SigningAlgorithm, kid: string): Promise<string> {
  const res = await keycardCli(t, server.dbPath, ['keys', 'list', '--pem'], { JWT_SECRET: undefined, JWT_ALGORITHM: alg })
  assert.equal(res.code, 0, `keycard keys list --pem: ${res.stderr}`)
  const pems = res.stdout.match(/-----BEGIN PUBLIC KEY-----[\s\S]+?-----END PUBLIC KEY-----/g) ?? []
  assert.ok(pems.length > 0, `keycard keys list --pem printed no PEM public key:\n${res.stdout}`)
  assert.doesNotMatch(res.stdout, /PRIVATE KEY/, 'keys list --pem prints public keys only')
  for (const pem of pems) {
    const jwk = createPublicKey(pem).export({ format: 'jwk' }) as JWK
    if ((await calculateJwkThumbprint(jwk)) === kid) return `${pem}\n`
  }
  return assert.fail(`no PEM printed by keys list --pem is the key ${kid}:\n${res.stdout}`)
}

/** The token with its signature's first character changed (a signature that cannot match). */
function tampered(token: string): string {
  const [h, p, s] = token.split('.') as [string, string, string]
  return `${h}.${p}.${s[0] === 'A' ? 'B' : 'A'}${s.slice(1)}`
}

function checkFjeLayout(claims: Record<string, unknown>, type: 'access' | 'refresh', issuer: string, what: string): void {
  assert.deepEqual(Object.keys(claims).slice(0, FJE_CLAIMS.length), [...FJE_CLAIMS], `${what}: FJE's claims first, in FJE's order`)
  assert.equal(claims.type, type, what)
  assert.equal(typeof claims.fresh, 'boolean', `${what}: fresh`)
  assert.match(String(claims.jti), /^[0-9a-f-]{36}$/, `${what}: jti is a UUID`)
  assert.equal(typeof claims.sub, 'string', `${what}: sub (FJE's identity claim) is a string`)
  assert.match(String(claims.csrf), /^[0-9a-f-]{36}$/, `${what}: csrf is a UUID`)
  for (const time of ['iat', 'nbf', 'exp']) assert.ok(Number.isInteger(claims[time]), `${what}: ${time} is an integer`)
  assert.ok((claims.exp as number) > (claims.iat as number), `${what}: exp after iat`)
  assert.equal(claims.iss, issuer, `${what}: iss`)
}

// The four servers at once: most of each test's time is its `keycard keys list` process starting.
describe('keyring-mode tokens in other verifiers', { concurrency: true }, () => {
  for (const alg of ALGORITHMS) {
    test(`${alg}: the tokens verify with jose's createRemoteJWKSet, PyJWT's PyJWKClient and FJE's decode with the public key`, {
      timeout: 180_000,
    }, async (t) => {
      requirePyjwt()
      // A new installation: no JWT_SECRET, so keyring mode; PS256 with an explicit ISSUER, the others with the default.
      const server = await startServer(t, {
        JWT_SECRET: undefined,
        JWT_ALGORITHM: alg,
        ...(alg === 'PS256' ? { ISSUER: 'https://auth.example.test' } : {}),
      })
      const discovery = await server.api('GET', '/.well-known/openid-configuration')
      assert.equal(discovery.status, 200, discovery.text)
      const issuer: string = discovery.body.issuer
      assert.equal(typeof issuer, 'string', discovery.text)
      if (alg === 'PS256') assert.equal(issuer, 'https://auth.example.test')
      assert.equal(new URL(discovery.body.jwks_uri).pathname, '/.well-known/jwks.json', discovery.text)
      const jwksUrl = new URL('/.well-known/jwks.json', server.url)

      const registered = await server.register('alice')
      const login = await server.login('alice')
      const tokens = [
        { token: registered.access_token, type: 'access', what: 'register access' },
        { token: registered.refresh_token, type: 'refresh', what: 'register refresh' },
        { token: login.access_token, type: 'access', what: 'login access' },
        { token: login.refresh_token, type: 'refresh', what: 'login refresh' },
      ] as const
      const header = decodeProtectedHeader(login.access_token)
      assert.equal(header.alg, alg)
      const kid = header.kid
      assert.ok(typeof kid === 'string', 'every token carries its kid')
      for (const { token, what } of tokens) {
        const { alg: signedWith, kid: signedBy } = decodeProtectedHeader(token)
        assert.deepEqual({ alg: signedWith, kid: signedBy }, { alg, kid }, what)
      }

      const set = await server.api('GET', '/.well-known/jwks.json')
      assert.equal(set.status, 200, set.text)
      const published = (set.body.keys as JWK[]).find((k) => k.kid === kid)
      assert.ok(published, `the signing key ${kid} is in the JWKS: ${set.text}`)
      assert.equal(published.alg, alg)
      assert.equal(published.use, 'sig')

      // jose, as a Node resource server does it.
      const remote = createRemoteJWKSet(jwksUrl)
      for (const { token, type, what } of tokens) {
        const { payload, protectedHeader } = await jwtVerify(token, remote, { issuer, algorithms: [alg] })
        assert.equal(protectedHeader.kid, kid, what)
        assert.equal(payload.type, type, what)
      }
      await assert.rejects(jwtVerify(tampered(login.access_token), remote, { issuer, algorithms: [alg] }), {
        code: 'ERR_JWS_SIGNATURE_VERIFICATION_FAILED',
      })
      await assert.rejects(jwtVerify(login.access_token, remote, { issuer: 'https://other.example.test', algorithms: [alg] }), {
        code: 'ERR_JWT_CLAIM_VALIDATION_FAILED',
      })

      // PyJWT: PyJWKClient on the JWKS URL, and FJE's decode with JWT_PUBLIC_KEY from the CLI.
      const pem = await pemOfKid(t, server, alg, kid)
      assert.equal(
        await calculateJwkThumbprint(createPublicKey(pem).export({ format: 'jwk' }) as JWK),
        await calculateJwkThumbprint(published),
        'the CLI and the JWKS publish the same key',
      )
      const items: PyItem[] = tokens.map(({ token }) => ({ token, alg, issuer, pem }))
      items.push({ token: tampered(login.access_token), alg, issuer, pem })
      items.push({ token: login.access_token, alg, issuer: 'https://other.example.test', pem })
      const results = await verifyWithPython(jwksUrl.href, items)
      assert.equal(results.length, items.length)
      tokens.forEach(({ token, type, what }, n) => {
        const { jwks, fje } = results[n]!
        assert.ok(jwks.ok, `${what} with PyJWKClient: ${jwks.error}`)
        assert.ok(fje.ok, `${what} with FJE's decode and JWT_PUBLIC_KEY: ${fje.error}`)
        assert.equal(jwks.kid, kid, `${what}: PyJWKClient picked the key by kid`)
        assert.deepEqual(jwks.claims, claimsOf(token), `${what}: PyJWKClient's claims`)
        assert.deepEqual(fje.claims, claimsOf(token), `${what}: FJE's claims (nothing defaulted: every claim FJE fills is there)`)
        checkFjeLayout(fje.claims!, type, issuer, what)
      })
      const [badSignature, badIssuer] = results.slice(tokens.length) as [
        { jwks: PyOutcome; fje: PyOutcome },
        { jwks: PyOutcome; fje: PyOutcome },
      ]
      assert.match(String(badSignature.jwks.error), /^InvalidSignatureError/, 'a tampered token, PyJWKClient')
      assert.match(String(badSignature.fje.error), /^InvalidSignatureError/, 'a tampered token, FJE')
      assert.match(String(badIssuer.jwks.error), /^InvalidIssuerError/, 'another issuer, PyJWKClient')
      assert.match(String(badIssuer.fje.error), /^InvalidIssuerError/, 'another issuer, FJE')
    })
  }
})
