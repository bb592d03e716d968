/**
 * Interop with PyJWT, the library under Flask-JWT-Extended:
 *  (a) tokens minted by PyJWT in FJE's exact layout (fixtures/, made by make_fixtures.py) verify with
 *      keycard and yield the expected header and claims;
 *      fixtures/cases/ holds PyJWT-minted tokens with FJE's answer to each: expired tokens that also fail
 *      another check (that check wins), an expired cookie token with a wrong CSRF value, and what
 *      strict:false accepts (numeric-string times) and refuses (unknown crit, respelled signatures);
 *  (b) tokens minted by keycard verify with PyJWT (verify_tokens.py under /usr/bin/python3).
 * PyJWT comes from Debian's python3-jwt (2.6; it predates verify_sub). A missing PyJWT is a failure,
 * not a skip: CI installs it.
 */

import { test } from 'node:test'
import assert from 'node:assert/strict'
import { spawnSync } from 'node:child_process'
import { readdirSync, readFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { generateKeyPairSync } from 'node:crypto'
import { createKeycard, type Algorithm, type JwtClaims, type KeycardError, type KeycardOptions } from 'keycard'

const HERE = fileURLToPath(new URL('.', import.meta.url))
const PYTHON = '/usr/bin/python3'
/** The HS256 test secret of make_fixtures.py. */
const SECRET = 'keycard-interop-test-secret-0123456789abcdef'
const key = (name: string) => readFileSync(`${HERE}keys/${name}`, 'utf8')

interface Fixture {
  name: string
  alg: Algorithm
  madeBy: string
  keycardOptions: Record<string, unknown> & { publicKeyFile?: string }
  token: string
  header: Record<string, unknown>
  claims: JwtClaims
}

const fixtures: Fixture[] = readdirSync(`${HERE}fixtures`)
  .filter((f) => f.endsWith('.json'))
  .sort()
  .map((f) => JSON.parse(readFileSync(`${HERE}fixtures/${f}`, 'utf8')) as Fixture)

function pyjwtVersion(): string {
  const probe = spawnSync(PYTHON, ['-c', 'import jwt; print(jwt.__version__)'], { encoding: 'utf8' })
  if (probe.error || probe.status !== 0) {
    assert.fail(
      `PyJWT is not importable by ${PYTHON} (${probe.error?.message ?? probe.stderr.trim().split('\n').pop()}). ` +
        'Install it with `apt-get install python3-jwt` (CI installs it); the interop tests do not skip.',
    )
  }
  return probe.stdout.trim()
}

test('fixtures are present, made by PyJWT, in FJE layout', () => {
  assert.deepEqual(fixtures.map((f) => f.name).sort(), [
    'es256-access',
    'es256-refresh',
    'hs256-access',
    'hs256-access-fresh',
    'hs256-extras',
    'hs256-fresh-float',
    'hs256-no-exp',
    'hs256-refresh',
    'rs256-access',
    'rs256-refresh',
  ])
  for (const f of fixtures) {
    assert.match(f.madeBy, /^PyJWT 2\./, f.name)
    const [h, p] = f.token.split('.')
    const header = Buffer.from(h!, 'base64url').toString('utf8')
    assert.equal(header, f.name === 'hs256-extras' ? '{"alg":"HS256","kid":"k1","typ":"JWT"}' : `{"alg":"${f.alg}","typ":"JWT"}`, f.name)
    const keys = Object.keys(JSON.parse(Buffer.from(p!, 'base64url').toString('utf8')))
    assert.deepEqual(keys.slice(0, 7), ['fresh', 'iat', 'jti', 'type', 'sub', 'nbf', 'csrf'], f.name)
  }
})

test('(a) PyJWT-minted FJE tokens verify with keycard and yield the expected claims', async () => {
  for (const f of fixtures) {
    const { publicKeyFile, ...rest } = f.keycardOptions
    const options: KeycardOptions = {
      algorithm: f.alg,
      ...(f.alg === 'HS256' ? { secret: SECRET } : { publicKey: key(publicKeyFile!) }),
      ...rest,
    }
    const keycard = await createKeycard(options)
    const claims = await keycard.decodeToken(f.token)
    assert.deepEqual(claims, f.claims, f.name)
    assert.deepEqual(keycard.getUnverifiedHeader(f.token), f.header, f.name)
    // Through the guard too: type and freshness as FJE reads them.
    const isRefresh = f.claims.type === 'refresh'
    const ctx = await keycard.verifyJwtInRequest(
      { method: 'GET', header: (n) => (n === 'authorization' ? `Bearer ${f.token}` : undefined) },
      { refresh: isRefresh, fresh: f.claims.fresh !== false && !isRefresh },
    )
    assert.equal(ctx?.identity, f.claims.sub, f.name)
    assert.deepEqual(ctx?.header, f.header, f.name)
    // A single flipped signature bit is refused.
    const [h, p, s] = f.token.split('.')
    const sig = Buffer.from(s!, 'base64url')
    sig[0]! ^= 1
    await assert.rejects(
      keycard.decodeToken(`${h}.${p}.${sig.toString('base64url')}`),
      { code: 'KEYCARD_JWT_SIGNATURE_INVALID', message: 'Signature verification failed' },
      f.name,
    )
  }
})

test('(a) a PyJWT token without exp is refused by a strict keycard whose access tokens expire', async () => {
  const f = fixtures.find((x) => x.name === 'hs256-no-exp')!
  await assert.rejects((await createKeycard({ secret: SECRET })).decodeToken(f.token), {
    code: 'KEYCARD_JWT_CLAIM_INVALID',
    message: 'Token is missing the "exp" claim',
  })
  assert.equal((await (await createKeycard({ secret: SECRET, strict: false })).decodeToken(f.token)).sub, '42')
})

interface Case {
  name: string
  madeBy: string
  keycardOptions: KeycardOptions & Record<string, unknown>
  request: { location: 'headers' | 'cookies'; method: string; csrf?: string }
  token: string
  claims: JwtClaims
  expect: { ok: true } | { status: number; msg: string }
}

const cases: Case[] = readdirSync(`${HERE}fixtures/cases`)
  .filter((f) => f.endsWith('.json'))
  .sort()
  .map((f) => JSON.parse(readFileSync(`${HERE}fixtures/cases/${f}`, 'utf8')) as Case)

test("(a) PyJWT-minted tokens that fail several checks get FJE's answer; strict:false takes what PyJWT takes", async (t) => {
  assert.ok(cases.length >= 16, `only ${cases.length} cases`)
  for (const c of cases)
    await t.test(c.name, async () => {
      assert.match(c.madeBy, /^PyJWT 2\./, c.name)
      const keycard = await createKeycard({ secret: SECRET, ...c.keycardOptions })
      const { location, method, csrf } = c.request
      const cookie = location === 'cookies' ? `access_token_cookie=${c.token}` : undefined
      const req = {
        method,
        header: (n: string) =>
          n === 'authorization' && location === 'headers' ? `Bearer ${c.token}` : n === 'x-csrf-token' ? csrf : undefined,
        cookie: (n: string) => (n === 'access_token_cookie' ? cookie?.slice(n.length + 1) : undefined),
      }
      const outcome = await keycard.verifyJwtInRequest(req).then(
        (ctx) => ({ ok: true as const, claims: ctx?.claims }),
        (err: KeycardError & { status: number }) => ({ status: err.status, msg: err.message }),
      )
      if ('ok' in c.expect) {
        assert.deepEqual(outcome, { ok: true, claims: c.claims }, c.name)
      } else {
        assert.deepEqual(outcome, c.expect, c.name)
      }
    })
})

test('(b) keycard-minted tokens verify with PyJWT and decode to the same claims', async () => {
  const version = pyjwtVersion()
  const ed = generateKeyPairSync('ed25519')
  const edPublicPem = ed.publicKey.export({ type: 'spki', format: 'pem' }) as string
  const setups: Array<{ alg: Algorithm; options: KeycardOptions; key: string }> = [
    { alg: 'HS256', options: { secret: SECRET }, key: SECRET },
    { alg: 'HS512', options: { algorithm: 'HS512', secret: SECRET + SECRET }, key: SECRET + SECRET },
    { alg: 'RS256', options: { algorithm: 'RS256', privateKey: key('rsa-private.pem') }, key: key('rsa-public.pem') },
    { alg: 'PS256', options: { algorithm: 'PS256', privateKey: key('rsa-private.pem') }, key: key('rsa-public.pem') },
    { alg: 'ES256', options: { algorithm: 'ES256', privateKey: key('ec-private.pem') }, key: key('ec-public.pem') },
    { alg: 'EdDSA', options: { algorithm: 'EdDSA', privateKey: ed.privateKey }, key: edPublicPem },
  ]
  const items: Array<{ token: string; alg: string; key: string; audience?: string; issuer?: string; label: string }> = []
  for (const s of setups) {
    const keycard = await createKeycard(s.options)
    const mint = async (label: string, token: Promise<string>, extra: { audience?: string; issuer?: string } = {}) =>
      items.push({ label: `${s.alg} ${label}`, token: await token, alg: s.alg, key: s.key, ...extra })
    await mint('access', keycard.createAccessToken('42'))
    await mint('fresh access', keycard.createAccessToken('42', { fresh: true }))
    await mint('fresh-until access', keycard.createAccessToken('42', { fresh: '10m' }))
    await mint('refresh', keycard.createRefreshToken('42'))
    // Strict mode refuses to mint a token it would refuse (no exp while access tokens expire); strict: false mints it, as FJE.
    await mint('no exp', (await createKeycard({ ...s.options, strict: false })).createAccessToken('42', { expiresIn: false }))
    await mint(
      'extras',
      keycard.createAccessToken('ü@example.com', {
        additionalClaims: { roles: ['a', 'b'], n: 1.5, nested: { x: null } },
        additionalHeaders: { kid: 'k1' },
      }),
    )
  }
  const audience = await createKeycard({ secret: SECRET, encodeAudience: ['api', 'web'], encodeIssuer: 'https://keycard.test' })
  items.push({
    label: 'HS256 aud+iss',
    token: await audience.createAccessToken('42'),
    alg: 'HS256',
    key: SECRET,
    audience: 'web',
    issuer: 'https://keycard.test',
  })

  const run = spawnSync(PYTHON, [`${HERE}verify_tokens.py`], { input: JSON.stringify(items), encoding: 'utf8' })
  assert.equal(run.status, 0, `verify_tokens.py failed: ${run.stderr}`)
  const out = JSON.parse(run.stdout) as {
    pyjwt: string
    results: Array<{ ok: boolean; error?: string; header?: unknown; claims?: unknown }>
  }
  assert.equal(out.pyjwt, version)
  assert.equal(out.results.length, items.length)
  items.forEach((item, i) => {
    const result = out.results[i]!
    assert.equal(result.error, undefined, `${item.label}: PyJWT refused it`)
    assert.equal(result.ok, true, item.label)
    const [h, p] = item.token.split('.')
    assert.deepEqual(result.header, JSON.parse(Buffer.from(h!, 'base64url').toString('utf8')), item.label)
    assert.deepEqual(result.claims, JSON.parse(Buffer.from(p!, 'base64url').toString('utf8')), item.label)
  })

  // The check is real: PyJWT refuses a keycard token signed with another secret.
  const other = await createKeycard({ secret: 'some-other-secret-0123456789-0123456789' })
  const bad = spawnSync(PYTHON, [`${HERE}verify_tokens.py`], {
    input: JSON.stringify([{ token: await other.createAccessToken('42'), alg: 'HS256', key: SECRET }]),
    encoding: 'utf8',
  })
  assert.deepEqual(JSON.parse(bad.stdout).results, [{ ok: false, error: 'InvalidSignatureError: Signature verification failed' }])
})
