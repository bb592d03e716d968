/**
 * keycard parses compact JWS itself (src/jws.ts) and checks signatures with node:crypto (src/keys.ts).
 * This file checks that path differentially against jose's `compactVerify` (same key, same
 * `algorithms` allow-list) on a deterministic corpus of valid and malformed tokens for HS256, RS256,
 * PS256, ES256 and EdDSA.
 *
 * Payloads carry valid `exp`/`iat`/`sub`/`jti`/`type` so keycard's claim checks (which jose's
 * compactVerify does not have) pass. With `strict: false` keycard must accept exactly when jose
 * accepts, except for these documented differences, each asserted case by case below:
 *
 *  A. `kid` that is not a string: keycard refuses ("Key ID header parameter must be a string", as
 *     PyJWT), jose accepts.
 *  B. `crit` header and `b64: false`: lax keycard applies PyJWT's rules (a non-empty list of strings,
 *     only `b64`, present in the header) and, like FJE, refuses `b64: false`; jose honours `b64: false`
 *     (raw payload) when `crit` names it, and ignores it otherwise. Strict keycard refuses every `crit`.
 *  C. a payload that is not a JSON object (or not UTF-8): jose's compactVerify never parses the
 *     payload and accepts; keycard refuses ("Invalid payload string: …"), as PyJWT does.
 *  D. characters outside base64url in the header or payload segment: jose 6 decodes with atob
 *     (whitespace and `=` padding tolerated, `+`, `/` and anything else refused); lax keycard decodes
 *     those like PyJWT (skips what is not base64url, refuses a length of 4n+1). Strict keycard refuses
 *     every such token with "Invalid … padding".
 *  G. a signature segment not in its one canonical spelling (a character outside base64url, `=`
 *     padding, whitespace, or set bits after the last byte in its last digit): jose may accept it;
 *     keycard, lax and strict, refuses it with "Invalid crypto padding", as PyJWT 2.15 does, so a
 *     signature cannot be respelled.
 *  E. more than three segments: jose refuses ("Invalid Compact JWS"); lax keycard, like PyJWT, keeps
 *     the extra dots in the payload segment and checks the signature over everything before the last
 *     dot. Strict keycard refuses (a dot is not base64url).
 *  F. invalid UTF-8 in the header: both refuse (fixed in keycard: it used to decode with replacement
 *     characters).
 *
 * Every refusal must be a KeycardError with a code whose message never contains the token, a
 * segment of it, or the decoded header/payload text.
 */

import { test } from 'node:test'
import assert from 'node:assert/strict'
import { constants, createHmac, generateKeyPairSync, randomUUID, sign as cryptoSign, type KeyObject } from 'node:crypto'
import * as jose from 'jose'
import { createKeycard, KeycardError, type Algorithm, type Keycard } from 'keycard'

// ---- deterministic PRNG ----------------------------------------------------------------------

function mulberry32(seed: number): () => number {
  let a = seed >>> 0
  return () => {
    a = (a + 0x6d2b79f5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

// ---- keys and signers ------------------------------------------------------------------------

type Signer = (input: string) => Buffer

interface Suite {
  alg: Algorithm
  joseKey: KeyObject | Uint8Array
  sign: Signer
  wrongSign: Signer
  lax: Keycard
  strict: Keycard
}

const SECRET = new TextEncoder().encode('differential-test-secret-0123456789abcdef')
const OTHER_SECRET = new TextEncoder().encode('another-secret-of-enough-length-0123456789')

const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 })
const rsa2 = generateKeyPairSync('rsa', { modulusLength: 2048 })
const ec = generateKeyPairSync('ec', { namedCurve: 'P-256' })
const ec2 = generateKeyPairSync('ec', { namedCurve: 'P-256' })
const ed = generateKeyPairSync('ed25519')
const ed2 = generateKeyPairSync('ed25519')

const hmac =
  (alg: string, secret: Uint8Array): Signer =>
  (input) =>
    createHmac(alg, secret).update(input).digest()
const rs =
  (key: KeyObject): Signer =>
  (input) =>
    cryptoSign('sha256', Buffer.from(input), key)
const ps =
  (key: KeyObject): Signer =>
  (input) =>
    cryptoSign('sha256', Buffer.from(input), {
      key,
      padding: constants.RSA_PKCS1_PSS_PADDING,
      saltLength: constants.RSA_PSS_SALTLEN_DIGEST,
    })
const es =
  (key: KeyObject): Signer =>
  (input) =>
    cryptoSign('sha256', Buffer.from(input), { key, dsaEncoding: 'ieee-p1363' })
const eddsa =
  (key: KeyObject): Signer =>
  (input) =>
    cryptoSign(null, Buffer.from(input), key)

async function suite(
  alg: Algorithm,
  sign: Signer,
  wrongSign: Signer,
  joseKey: KeyObject | Uint8Array,
  keys: Record<string, unknown>,
): Promise<Suite> {
  const base = { algorithm: alg, cacheSize: 0, ...keys }
  return {
    alg,
    joseKey,
    sign,
    wrongSign,
    lax: await createKeycard({ ...base, strict: false }),
    strict: await createKeycard({ ...base, strict: true }),
  }
}

const suites: Suite[] = await Promise.all([
  suite('HS256', hmac('sha256', SECRET), hmac('sha256', OTHER_SECRET), SECRET, { secret: SECRET }),
  suite('RS256', rs(rsa.privateKey), rs(rsa2.privateKey), rsa.publicKey, { publicKey: rsa.publicKey }),
  suite('PS256', ps(rsa.privateKey), ps(rsa2.privateKey), rsa.publicKey, { publicKey: rsa.publicKey }),
  suite('ES256', es(ec.privateKey), es(ec2.privateKey), ec.publicKey, { publicKey: ec.publicKey }),
  suite('EdDSA', eddsa(ed.privateKey), eddsa(ed2.privateKey), ed.publicKey, { publicKey: ed.publicKey }),
])

// ---- token building --------------------------------------------------------------------------

const b64 = (data: string | Buffer) => Buffer.from(data).toString('base64url')

function claimsJson(rand: () => number): string {
  const now = Math.floor(Date.now() / 1000)
  const claims: Record<string, unknown> = {
    fresh: false,
    iat: now - 10,
    jti: randomUUID(),
    type: 'access',
    sub: `user-${Math.floor(rand() * 1000)}`,
    nbf: now - 10,
    exp: now + 3600,
  }
  if (rand() < 0.3) claims.role = 'admin ünïcode ✓'
  return JSON.stringify(claims)
}

function build(s: Suite, header: string | Buffer, payload: string | Buffer, signer: Signer = s.sign): string {
  const input = `${b64(header)}.${b64(payload)}`
  return `${input}.${b64(signer(input))}`
}

/** Signs exactly the given (possibly non-canonical) segments. */
function signRaw(headerSeg: string, payloadSeg: string, signer: Signer): string {
  const input = `${headerSeg}.${payloadSeg}`
  return `${input}.${b64(signer(input))}`
}

// ---- the two verdicts ------------------------------------------------------------------------

type Verdict = { ok: true } | { ok: false; error: unknown }

async function joseVerdict(s: Suite, token: string): Promise<Verdict> {
  try {
    await jose.compactVerify(token, s.joseKey, { algorithms: [s.alg] })
    return { ok: true }
  } catch (error) {
    return { ok: false, error }
  }
}

async function keycardVerdict(kc: Keycard, token: string): Promise<Verdict> {
  try {
    await kc.decodeToken(token)
    return { ok: true }
  } catch (error) {
    return { ok: false, error }
  }
}

function decodedTexts(token: string): string[] {
  return token
    .split('.')
    .slice(0, 2)
    .map((seg) => Buffer.from(seg, 'base64url').toString('utf8'))
}

/** A refusal is a KeycardError with a code that does not echo the token or its content. */
function assertCleanRefusal(v: Verdict, token: string, label: string): KeycardError {
  assert.equal(v.ok, false)
  const error = (v as { error: unknown }).error
  assert.ok(error instanceof KeycardError, `${label}: expected a KeycardError, got ${String(error)}`)
  assert.match(error.code, /^KEYCARD_[A-Z_]+$/, label)
  const leaks = [token, ...token.split('.')].filter((p) => p.length >= 12).concat(decodedTexts(token).filter((t) => t.length >= 12))
  for (const leak of leaks) assert.ok(!error.message.includes(leak), `${label}: message ${JSON.stringify(error.message)} echoes the token`)
  return error
}

const NON_B64URL = /[^A-Za-z0-9_-]/

function canonical(token: string): string {
  return token
    .split('.')
    .map((seg) => Buffer.from(seg, 'base64url').toString('base64url'))
    .join('.')
}

function headerOf(token: string): Record<string, unknown> | undefined {
  try {
    const value = JSON.parse(Buffer.from(token.split('.')[0]!, 'base64url').toString('utf8'))
    return value && typeof value === 'object' && !Array.isArray(value) ? value : undefined
  } catch {
    return undefined
  }
}

function payloadIsObject(token: string): boolean {
  const parts = token.split('.')
  try {
    const value = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(Buffer.from(parts.slice(1, -1).join(''), 'base64url')))
    return value !== null && typeof value === 'object' && !Array.isArray(value)
  } catch {
    return false
  }
}

/** PyJWT's crit and b64 refusals. */
const CRIT_MESSAGES =
  /^(Unsupported critical extension(: b64)?|Invalid 'crit' header: .+|Critical extension 'b64' is missing from headers|It is required that you pass in a value for the "detached_payload" argument .+)$/

/** base64url only, and no set bits after the last byte: the signature's one spelling. */
function canonicalSignature(segment: string): boolean {
  return !NON_B64URL.test(segment) && segment.length % 4 !== 1 && Buffer.from(segment, 'base64url').toString('base64url') === segment
}

const counts: Record<string, number> = {}
const bump = (key: string) => {
  counts[key] = (counts[key] ?? 0) + 1
}

/**
 * Compares keycard (lax and strict) with jose on one token; returns the difference category that
 * applied, or 'same'.
 */
async function compare(s: Suite, token: string, label: string): Promise<string> {
  const [j, lax, strict] = await Promise.all([joseVerdict(s, token), keycardVerdict(s.lax, token), keycardVerdict(s.strict, token)])
  const where = `${s.alg} ${label} ${JSON.stringify(token.length > 400 ? `${token.slice(0, 400)}…` : token)}`
  if (!lax.ok) assertCleanRefusal(lax, token, `${where} (lax)`)
  if (!strict.ok) assertCleanRefusal(strict, token, `${where} (strict)`)
  // Strict keycard is the narrowest of the three: it never accepts what lax keycard or jose refuses.
  if (strict.ok) {
    assert.ok(lax.ok, `${where}: strict accepted what lax refused`)
    assert.ok(j.ok, `${where}: strict keycard accepted what jose refused: ${String((j as { error: unknown }).error)}`)
  }

  const parts = token.split('.')
  const header = headerOf(token)
  if (parts.some((p) => NON_B64URL.test(p))) {
    assert.equal(strict.ok, false, `${where}: strict accepted a non-base64url character`)
    assert.match((strict as { error: Error }).error.message, /^(Invalid (header|payload|crypto) padding|Not enough segments)$/, where)
  }
  let category = 'same'
  if (lax.ok === j.ok) category = 'same'
  else if (parts.length > 3) category = 'E'
  else if (parts.slice(0, 2).some((p) => NON_B64URL.test(p))) category = 'D'
  else if (!canonicalSignature(parts[2] ?? '')) category = 'G'
  else if (header && ('crit' in header || header.b64 === false)) category = 'B'
  else if (header && 'kid' in header && typeof header.kid !== 'string') category = 'A'
  else if (!payloadIsObject(token)) category = 'C'

  switch (category) {
    case 'A':
      assert.equal(lax.ok, false, `${where}: non-string kid accepted`)
      assert.equal((lax as { error: Error }).error.message, 'Key ID header parameter must be a string', where)
      break
    case 'B':
      // Only `b64: false` separates them: jose reads a raw payload (or ignores b64 without crit), keycard refuses.
      assert.equal(j.ok, true, where)
      assert.equal(header!.b64, false, where)
      for (const verdict of [lax, strict]) {
        assert.equal(verdict.ok, false, where)
        assert.match((verdict as { error: Error }).error.message, CRIT_MESSAGES, where)
      }
      break
    case 'G':
      assert.equal(j.ok, true, where)
      for (const verdict of [lax, strict]) {
        assert.equal(verdict.ok, false, where)
        assert.equal((verdict as { error: Error }).error.message, 'Invalid crypto padding', where)
      }
      break
    case 'C':
      assert.equal(lax.ok, false, `${where}: non-object payload accepted`)
      assert.match((lax as { error: Error }).error.message, /^Invalid payload string: /, where)
      break
    case 'D': {
      if (lax.ok) {
        // Lax leniency never admits bytes jose would not: if only the (unsigned) signature segment is
        // non-canonical, jose accepts its canonical re-encoding; otherwise the signer signed these
        // exact non-canonical header/payload segments, which jose cannot decode.
        if (parts.slice(0, 2).every((p) => !NON_B64URL.test(p))) {
          assert.ok((await joseVerdict(s, canonical(token))).ok, `${where}: lax accepted a token whose canonical form jose refuses`)
        } else {
          assert.equal(
            (j as { error: Error }).error.message,
            'Failed to base64url decode the payload'
              .replace('payload', NON_B64URL.test(parts[0]!) ? 'header' : 'payload')
              .replace('Failed to base64url decode the header', 'JWS Protected Header is invalid'),
            where,
          )
        }
      } else {
        // jose's atob tolerates whitespace and '=' padding that take the raw length to 4n+1.
        assert.match((lax as { error: Error }).error.message, /^Invalid (header|payload|crypto) padding$/, where)
      }
      break
    }
    case 'E':
      assert.equal(j.ok, false, where)
      assert.ok(j.ok === false && (j.error as Error).message === 'Invalid Compact JWS', where)
      assert.equal(strict.ok, false, where)
      break
    default:
      assert.equal(
        lax.ok,
        j.ok,
        `${where}: lax keycard ${lax.ok ? 'accepted' : `refused (${(lax as { error: Error }).error.message})`}, jose ${j.ok ? 'accepted' : `refused (${String((j as { error: unknown }).error)})`}`,
      )
      break
  }
  bump(`${category}:${lax.ok ? 'kc+' : 'kc-'}:${j.ok ? 'jose+' : 'jose-'}`)
  return category
}

// ---- the corpus ------------------------------------------------------------------------------

const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_'
const ODD = ['+', '/', '=', '==', ' ', '\t', '\n', '!', '*', '%', '.', '~', 'é', '\u0000', '"']

function pick<T>(rand: () => number, list: readonly T[]): T {
  return list[Math.floor(rand() * list.length)]!
}

function mutate(rand: () => number, token: string, s: Suite): { token: string; label: string } {
  const at = Math.floor(rand() * token.length)
  const parts = token.split('.')
  const kind = Math.floor(rand() * 16)
  switch (kind) {
    case 0:
      return { label: 'flip', token: token.slice(0, at) + pick(rand, [...ALPHABET]) + token.slice(at + 1) }
    case 1:
      return { label: 'delete', token: token.slice(0, at) + token.slice(at + 1) }
    case 2:
      return { label: 'insert', token: token.slice(0, at) + pick(rand, [...ALPHABET]) + token.slice(at) }
    case 3:
      return { label: 'truncate', token: token.slice(0, at) }
    case 4:
      return { label: 'extra segment', token: `${token}.${rand() < 0.5 ? '' : b64('{}')}` }
    case 5:
      return { label: 'drop segment', token: parts.filter((_, i) => i !== Math.floor(rand() * 3)).join('.') }
    case 6: {
      const [i, k] = pick(rand, [
        [0, 1],
        [1, 2],
        [0, 2],
      ] as const)
      const swapped = [...parts]
      swapped[i] = parts[k]!
      swapped[k] = parts[i]!
      return { label: 'swap segments', token: swapped.join('.') }
    }
    case 7: {
      const i = Math.floor(rand() * 3)
      const padded = [...parts]
      padded[i] = padded[i]! + pick(rand, ['=', '==', '==='])
      return { label: `pad segment ${i}`, token: padded.join('.') }
    }
    case 8:
      return { label: 'odd char', token: token.slice(0, at) + pick(rand, ODD) + token.slice(at) }
    case 9: {
      // Odd characters inside the signature segment only: not covered by the signature.
      const sig = parts[2]!
      const p = Math.floor(rand() * (sig.length + 1))
      return { label: 'odd char in signature', token: `${parts[0]}.${parts[1]}.${sig.slice(0, p)}${pick(rand, ODD)}${sig.slice(p)}` }
    }
    case 10:
      return { label: 'wrong key', token: `${parts[0]}.${parts[1]}.${b64(s.wrongSign(`${parts[0]}.${parts[1]}`))}` }
    case 11:
      return { label: 'empty signature', token: `${parts[0]}.${parts[1]}.` }
    case 12: {
      const sig = Buffer.from(parts[2]!, 'base64url')
      const changed =
        rand() < 0.5
          ? sig.subarray(0, Math.max(0, sig.length - 1 - Math.floor(rand() * 4)))
          : Buffer.concat([sig, Buffer.from([0, 1, 2].slice(0, 1 + Math.floor(rand() * 3)))])
      return { label: 'signature length', token: `${parts[0]}.${parts[1]}.${b64(changed)}` }
    }
    case 13: {
      const bytes = Buffer.from(parts[2]!, 'base64url')
      if (bytes.length > 0) bytes[Math.floor(rand() * bytes.length)]! ^= 1 << Math.floor(rand() * 8)
      return { label: 'signature bit flip', token: `${parts[0]}.${parts[1]}.${b64(bytes)}` }
    }
    case 14:
      return { label: 'whitespace around', token: pick(rand, [' ', '\n', '\t']) + token + (rand() < 0.5 ? ' ' : '') }
    default:
      return {
        label: 'case swap',
        token:
          token.slice(0, at) +
          (token[at] ?? '').replace(/[a-z]/, (c) => c.toUpperCase()).replace(/[A-Z]/, (c) => c.toLowerCase()) +
          token.slice(at + 1),
      }
  }
}

/** Hand-written malformed and re-signed tokens, for every suite. */
function crafted(s: Suite, rand: () => number): Array<{ token: string; label: string }> {
  const good = `{"alg":"${s.alg}","typ":"JWT"}`
  const payload = claimsJson(rand)
  const out: Array<{ token: string; label: string }> = []
  const add = (label: string, token: string) => out.push({ label, token })

  add('valid', build(s, good, payload))
  add('valid, header key order changed', build(s, `{"typ":"JWT","alg":"${s.alg}"}`, payload))
  add('alg none, no signature', `${b64('{"alg":"none","typ":"JWT"}')}.${b64(payload)}.`)
  add('alg none, real signature', build(s, '{"alg":"none","typ":"JWT"}', payload))
  add('alg NONE', build(s, '{"alg":"NONE"}', payload))
  add('alg hs256 lowercase', build(s, `{"alg":"${s.alg.toLowerCase()}"}`, payload))
  add('alg HS512 with the secret', build(s, '{"alg":"HS512"}', payload, hmac('sha512', new Uint8Array(64).fill(7))))
  add('alg swapped to RS256', build(s, '{"alg":"RS256"}', payload))
  add(
    'alg swapped to HS256, HMAC keyed with the public key',
    build(s, '{"alg":"HS256"}', payload, hmac('sha256', Buffer.from(rsa.publicKey.export({ type: 'spki', format: 'pem' })))),
  )
  add('alg missing', build(s, '{"typ":"JWT"}', payload))
  add('alg number', build(s, '{"alg":256}', payload))
  add('alg null', build(s, '{"alg":null}', payload))
  add('alg array', build(s, `{"alg":["${s.alg}"]}`, payload))
  add('duplicate alg, last wins', build(s, `{"alg":"none","alg":"${s.alg}"}`, payload))
  add('header not JSON', build(s, 'not json at all', payload))
  add('header truncated JSON', build(s, `{"alg":"${s.alg}"`, payload))
  add('header trailing comma', build(s, `{"alg":"${s.alg}",}`, payload))
  add('header array', build(s, `["${s.alg}"]`, payload))
  add('header string', build(s, `"${s.alg}"`, payload))
  add('header null', build(s, 'null', payload))
  add('header empty', build(s, '', payload))
  add(
    'header invalid UTF-8',
    build(s, Buffer.concat([Buffer.from(`{"alg":"${s.alg}","x":"`), Buffer.from([0xff, 0xfe]), Buffer.from('"}')]), payload),
  )
  add('header BOM', build(s, `\ufeff${good}`, payload))
  add('kid string', build(s, `{"alg":"${s.alg}","kid":"k1"}`, payload))
  add('kid number', build(s, `{"alg":"${s.alg}","kid":1}`, payload))
  add('kid null', build(s, `{"alg":"${s.alg}","kid":null}`, payload))
  add('jku is never fetched', build(s, `{"alg":"${s.alg}","jku":"http://127.0.0.1:1/jwks"}`, payload))
  add('crit unknown', build(s, `{"alg":"${s.alg}","crit":["exp"],"exp":1}`, payload))
  add('crit empty', build(s, `{"alg":"${s.alg}","crit":[]}`, payload))
  add('crit b64 true', build(s, `{"alg":"${s.alg}","crit":["b64"],"b64":true}`, payload))
  add('b64 false without crit', build(s, `{"alg":"${s.alg}","b64":false}`, payload))
  // b64:false, crit b64: the payload is sent raw (it must not contain dots).
  const rawPayload = 'raw-payload-no-dots'
  add('crit b64 false, raw payload', signRaw(b64(`{"alg":"${s.alg}","b64":false,"crit":["b64"]}`), rawPayload, s.sign))
  for (const p of ['[]', '"string"', '123', 'null', 'true', 'not json', '', `[${payload}]`, `${payload} `, `${payload}x`]) {
    add(`payload ${JSON.stringify(p.slice(0, 12))}`, build(s, good, p))
  }
  add(
    'payload invalid UTF-8 string',
    build(s, good, Buffer.concat([Buffer.from(payload.slice(0, -1)), Buffer.from(',"x":"'), Buffer.from([0xc3, 0x28]), Buffer.from('"}')])),
  )
  add('payload nested 20 deep', build(s, good, `${payload.slice(0, -1)},"deep":${'['.repeat(20)}${']'.repeat(20)}}`))
  add('payload nested 10 deep', build(s, good, `${payload.slice(0, -1)},"deep":${'['.repeat(10)}${']'.repeat(10)}}`))
  add('wrong key', build(s, good, payload, s.wrongSign))
  // The same signature bytes, respelled: the last digit's unused bits set, or the standard alphabet.
  const valid = build(s, good, payload)
  const sig = valid.slice(valid.lastIndexOf('.') + 1)
  const unusedBits = sig.length % 4 === 2 ? 15 : 3
  add(
    'signature respelled, unused bits set',
    `${valid.slice(0, valid.lastIndexOf('.') + 1)}${sig.slice(0, -1)}${ALPHABET[ALPHABET.indexOf(sig.at(-1)!) | (1 + Math.floor(rand() * unusedBits))]}`,
  )
  add(
    'signature in the standard alphabet',
    `${valid.slice(0, valid.lastIndexOf('.') + 1)}${Buffer.from(sig, 'base64url').toString('base64').replace(/=+$/, '')}`,
  )
  // Non-canonical encodings that the signer signed as they are.
  const h = b64(good)
  const p = b64(payload)
  add('signed header with + inside', signRaw(`${h.slice(0, 4)}+${h.slice(4)}`, p, s.sign))
  add('signed header with = padding', signRaw(`${h}${'='.repeat((4 - (h.length % 4)) % 4)}`, p, s.sign))
  add('signed payload with whitespace', signRaw(h, `${p.slice(0, 8)} ${p.slice(8)}`, s.sign))
  add('signed payload with a dot (4 segments)', signRaw(h, `${p.slice(0, 8)}.${p.slice(8)}`, s.sign))
  add('signed payload with two dots', signRaw(h, `${p.slice(0, 8)}.${p.slice(8, 16)}.${p.slice(16)}`, s.sign))
  add('one segment', h)
  add('two segments', `${h}.${p}`)
  add('empty string', '')
  add('dots only', '..')
  add('four dots', '....')
  return out
}

// ---- tests -----------------------------------------------------------------------------------

const CASES_PER_SUITE = 700

for (const s of suites) {
  test(`${s.alg}: keycard agrees with jose.compactVerify on a generated corpus`, async () => {
    const rand = mulberry32(0x6b657963 ^ s.alg.charCodeAt(0) ^ (s.alg.charCodeAt(1) << 8))
    const cases = crafted(s, rand)
    for (let i = 0; cases.length < CASES_PER_SUITE; i++) {
      const valid = build(s, `{"alg":"${s.alg}","typ":"JWT"}`, claimsJson(rand))
      cases.push(i % 10 === 0 ? { label: 'valid', token: valid } : mutate(rand, valid, s))
    }
    // Tokens minted by jose itself must verify with keycard.
    const signingKey = s.alg === 'HS256' ? SECRET : { RS256: rsa, PS256: rsa, ES256: ec, EdDSA: ed }[s.alg as 'RS256']!.privateKey
    for (let i = 0; i < 20; i++) {
      const token = await new jose.CompactSign(new TextEncoder().encode(claimsJson(rand)))
        .setProtectedHeader({ alg: s.alg, typ: 'JWT' })
        .sign(signingKey)
      cases.push({ label: 'minted by jose', token })
    }
    let accepted = 0
    for (const c of cases) {
      await compare(s, c.token, c.label)
      if ((await keycardVerdict(s.lax, c.token)).ok) accepted++
    }
    // The corpus exercises both sides.
    assert.ok(accepted >= CASES_PER_SUITE / 10, `${s.alg}: only ${accepted} accepted`)
    assert.ok(accepted <= CASES_PER_SUITE / 2, `${s.alg}: ${accepted} accepted`)
  })
}

test('documented differences are exercised, with the asserted direction', () => {
  // Each category of the header comment must have come up, in the direction described there.
  const seen = (prefix: string) =>
    Object.entries(counts)
      .filter(([k]) => k.startsWith(prefix))
      .reduce((n, [, v]) => n + v, 0)
  assert.ok(seen('same:kc+:jose+') > 500, JSON.stringify(counts))
  assert.ok(seen('same:kc-:jose-') > 1000, JSON.stringify(counts))
  assert.equal(seen('A:kc-:jose+'), suites.length * 2, JSON.stringify(counts)) // kid number, kid null
  assert.equal(seen('B:kc+:jose-'), 0, JSON.stringify(counts))
  assert.equal(seen('B:kc-:jose+'), suites.length * 2, JSON.stringify(counts)) // b64 false with and without crit
  assert.equal(seen('G:kc+:jose-'), 0, JSON.stringify(counts))
  assert.ok(seen('G:kc-:jose+') >= suites.length, JSON.stringify(counts)) // at least the respelled signature
  assert.equal(seen('C:kc-:jose+'), suites.length * 10, JSON.stringify(counts)) // 9 non-object payloads + invalid UTF-8
  assert.ok(seen('D:kc-:jose+') >= 1, JSON.stringify(counts))
  assert.ok(seen('E:kc+:jose-') >= suites.length, JSON.stringify(counts)) // payload segment signed with a dot in it
})

test('malformed JSON and UTF-8 are refused with exact messages that do not quote the token', async () => {
  const s = suites[0]!
  const payload = claimsJson(mulberry32(1))
  const expectations: Array<[string, string | RegExp]> = [
    [build(s, 'not json at all', payload), "Invalid header string: Unexpected token 'o', not valid JSON"],
    [
      build(s, `{"alg":"HS256","secretish":"${'x'.repeat(40)}"`, payload),
      /^Invalid header string: Expected ',' or '}' after property value in JSON at position 69( \(line 1 column 70\))?$/,
    ], // Node 22 adds the column
    [
      build(s, Buffer.concat([Buffer.from('{"alg":"HS256","x":"'), Buffer.from([0xff]), Buffer.from('"}')]), payload),
      'Invalid header string: not valid UTF-8',
    ],
    [build(s, '{"alg":"HS256"}', Buffer.from([0x7b, 0xc3, 0x28, 0x7d])), 'Invalid payload string: not valid UTF-8'],
    [build(s, '{"alg":"HS256"}', `x${'y'.repeat(40)}`), "Invalid payload string: Unexpected token 'x', not valid JSON"],
    [build(s, '{"alg":"HS256","kid":7}', payload), 'Key ID header parameter must be a string'],
  ]
  for (const [token, message] of expectations) {
    for (const kc of [s.lax, s.strict]) {
      await assert.rejects(kc.decodeToken(token), (err: unknown) => {
        assert.ok(err instanceof KeycardError)
        assert.equal(err.code, 'KEYCARD_JWT_MALFORMED')
        if (typeof message === 'string') assert.equal(err.message, message)
        else assert.match(err.message, message)
        return true
      })
    }
  }
  // A BOM before the header JSON is skipped, as jose and PyJWT do.
  assert.equal((await s.strict.decodeToken(build(s, '\ufeff{"alg":"HS256"}', payload))).type, 'access')
})
