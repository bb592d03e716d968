/**
 * Property-based fuzzing (fast-check) of the token parser and of token lookup in a request: arbitrary
 * strings, near-valid JWTs (a real token with a segment mutated, dropped or repeated), validly signed
 * tokens with hostile headers and payloads (wrong or missing alg, crit, non-string kid, deep nesting,
 * unicode, invalid UTF-8, base64 edge cases), hostile Authorization, Cookie and CSRF headers, query
 * strings and JSON bodies. Whatever comes in, keycard answers with a TokenError that renders to a
 * documented status and `{msg}` body that does not echo the token, or with the verified claims when
 * the input really is a valid token; and every token it mints verifies. Runs are bounded (numRuns)
 * and seeded by fast-check, which prints the seed and the shrunk counterexample on failure.
 */

import assert from 'node:assert/strict'
import { createHmac, randomUUID } from 'node:crypto'
import type { IncomingMessage } from 'node:http'
import { describe, test } from 'node:test'
import fc from 'fast-check'
import { createKeycard, isTokenError, type Keycard, NodeRequestView, parseCookieHeader, type TokenLocation } from 'keycard'
import { b64url, claims, expiredToken, SECRET, signSegments } from './harness.ts'

const RUNS = 300
/** The statuses keycard's default builders answer a token error with (FJE's). */
const STATUSES = new Set([401, 422])
/** Names keycard's own messages say (cookie and JSON key names), which an input may hold too. */
const OWN_NAMES = new Set(['access_token_cookie', 'refresh_token_cookie', 'csrf_access_token', 'csrf_refresh_token'])
const ALL_LOCATIONS: TokenLocation[] = ['headers', 'cookies', 'query_string', 'json']

/**
 * Asserts `err` is a TokenError whose rendered answer is documented: 401 or 422, a `{msg: string}`
 * body and nothing else, a `WWW-Authenticate` header on 401s, and no base64url run of `input` of 16
 * or more characters (a token segment) echoed back, but for the names keycard's messages use.
 */
function assertRendered(keycard: Keycard, err: unknown, input: string): void {
  if (!isTokenError(err)) throw new assert.AssertionError({ message: `not a TokenError: ${String(err)}`, actual: err })
  const res = keycard.renderError(err)
  assert.ok(STATUSES.has(res.status), `status ${res.status} for ${err.code}`)
  const body = res.body as Record<string, unknown>
  assert.deepEqual(Object.keys(body), ['msg'])
  assert.equal(typeof body.msg, 'string')
  assert.ok((body.msg as string).length > 0)
  if (res.status === 401) assert.match(res.headers['WWW-Authenticate'] ?? '', /^Bearer/)
  for (const part of input.split(/[^A-Za-z0-9_-]+/)) {
    if (part.length >= 16 && !OWN_NAMES.has(part))
      assert.ok(!(body.msg as string).includes(part), `the answer echoes ${JSON.stringify(part)}: ${body.msg}`)
  }
}

/** decodeToken's outcome: the claims, or the rendered error checked by assertRendered. */
async function decodeOrReject(keycard: Keycard, token: string): Promise<Record<string, unknown> | undefined> {
  try {
    return await keycard.decodeToken(token)
  } catch (err) {
    assertRendered(keycard, err, token)
    return undefined
  }
}

// ---- arbitraries ------------------------------------------------------------------------------------

/** Characters that matter to the parser, plus some that never should. */
const TOKEN_CHARS = fc.constantFrom('.', 'a', 'Z', '0', '-', '_', '=', '+', '/', ' ', ',', '%', 'é', '\u0000', '\ud800', '😀', '"')
const tokenish = fc.string({ unit: TOKEN_CHARS, maxLength: 120 })
const anyString = fc.oneof(fc.string({ unit: 'binary', maxLength: 200 }), tokenish)

/** A JSON value with hostile corners: unicode and lone surrogates, huge numbers, prototype keys. */
const hostileJson = fc.letrec((tie) => ({
  value: fc.oneof(
    { depthSize: 'small' },
    fc.string({ unit: 'binary', maxLength: 20 }),
    fc.constantFrom(0, -1, 1e308, -1e308, 2 ** 53 + 1, 1.5, true, false, null, '', '__proto__'),
    fc.array(tie('value'), { maxLength: 4 }),
    tie('object'),
  ),
  object: fc.dictionary(
    fc.oneof(fc.string({ maxLength: 8 }), fc.constantFrom('__proto__', 'constructor', 'exp', 'sub', 'alg')),
    tie('value'),
    {
      maxKeys: 5,
    },
  ),
})).value

/** `depth` levels of arrays or objects around a value, as JSON text. */
const nested = fc
  .tuple(fc.integer({ min: 1, max: 40 }), fc.boolean())
  .map(([depth, arrays]) => (arrays ? `${'['.repeat(depth)}1${']'.repeat(depth)}` : `${'{"a":'.repeat(depth)}1${'}'.repeat(depth)}`))

const headerJson = fc.oneof(
  fc
    .record(
      {
        alg: fc.constantFrom('HS256', 'none', 'None', 'HS512', 'RS256', 'ES256', 'EdDSA', '', 'hs256', 'HS256 '),
        typ: fc.constantFrom('JWT', 'jwt', '', 'at+jwt'),
        kid: fc.oneof(fc.string({ maxLength: 10 }), fc.integer(), fc.constant(null)),
        crit: fc.oneof(fc.constant([]), fc.constant(['b64']), fc.array(fc.string({ maxLength: 5 }), { maxLength: 3 }), fc.constant('b64')),
        b64: fc.boolean(),
      },
      { requiredKeys: [] },
    )
    .map((h) => JSON.stringify(h)),
  hostileJson.map((v) => JSON.stringify(v)),
  nested,
  anyString,
)

const payloadJson = fc.oneof(
  fc
    .record({ extra: hostileJson, sub: fc.oneof(fc.string({ unit: 'grapheme', maxLength: 10 }), fc.integer()) })
    .map((extra) => JSON.stringify(claims(extra))),
  fc
    .record({ exp: fc.oneof(fc.string(), fc.double(), fc.constant(null)), nbf: fc.oneof(fc.string(), fc.double()), iat: fc.anything() })
    .map((t) => JSON.stringify(claims(t))),
  nested.map((n) => `{"sub":"42","type":"access","exp":${Math.floor(Date.now() / 1000) + 900},"n":${n}}`),
  hostileJson.map((v) => JSON.stringify(v)),
  anyString,
)

/** A segment from JSON text: base64url, or standard base64 with padding, or the raw text, or random bytes. */
const segment = (json: fc.Arbitrary<string>) =>
  fc.oneof(
    json.map((j) => b64url(j)),
    json.map((j) => Buffer.from(j).toString('base64')),
    json,
    fc.uint8Array({ maxLength: 40 }).map((bytes) => Buffer.from(bytes).toString('base64url')),
  )

/** Validly signed (HS256, SECRET) or not, over hostile segments: the claim checks see what got past parsing. */
const craftedToken = fc
  .tuple(segment(headerJson), segment(payloadJson), fc.constantFrom('hs256', 'random', 'empty', 'other'))
  .map(([h, p, sig]) => {
    if (sig === 'hs256') return signSegments(h, p)
    if (sig === 'other') return signSegments(h, p, 'a-different-secret-of-enough-length-0')
    return `${h}.${p}.${sig === 'empty' ? '' : randomUUID().replaceAll('-', '')}`
  })

/** A real token with one edit: a character replaced, inserted or removed, segments dropped or repeated. */
function mutated(valid: string): fc.Arbitrary<string> {
  return fc.oneof(
    fc.tuple(fc.nat(valid.length - 1), TOKEN_CHARS).map(([i, c]) => valid.slice(0, i) + c + valid.slice(i + 1)),
    fc.tuple(fc.nat(valid.length), TOKEN_CHARS).map(([i, c]) => valid.slice(0, i) + c + valid.slice(i)),
    fc.nat(valid.length - 1).map((i) => valid.slice(0, i) + valid.slice(i + 1)),
    fc.constantFrom(
      valid.split('.').slice(0, 2).join('.'),
      `${valid}.`,
      `${valid}.${valid.split('.')[2]}`,
      valid.split('.').reverse().join('.'),
      `${valid}==`,
      valid.replaceAll('-', '+').replaceAll('_', '/'),
    ),
  )
}

// ---- properties ---------------------------------------------------------------------------------------

describe('fuzzing the token parser (decodeToken)', () => {
  test('arbitrary strings are rejected with a rendered TokenError', async () => {
    const keycard = await createKeycard({ secret: SECRET })
    await fc.assert(
      fc.asyncProperty(anyString, async (token) => {
        assert.equal(await decodeOrReject(keycard, token), undefined)
      }),
      { numRuns: RUNS },
    )
  })

  test('a real token with one edit is rejected (or is, by base64url, the same token)', async () => {
    const keycard = await createKeycard({ secret: SECRET })
    const valid = await keycard.createAccessToken('42')
    const expected = await keycard.decodeToken(valid)
    await fc.assert(
      fc.asyncProperty(mutated(valid), async (token) => {
        const got = await decodeOrReject(keycard, token)
        // Only an edit that leaves the same bytes under each segment's decoding may still verify.
        if (got !== undefined) assert.deepEqual(got, expected)
      }),
      { numRuns: RUNS },
    )
  })

  test('validly signed and forged tokens with hostile headers and payloads: verified claims or a rendered TokenError', async () => {
    for (const strict of [true, false]) {
      const keycard = await createKeycard({ secret: SECRET, strict })
      await fc.assert(
        fc.asyncProperty(craftedToken, async (token) => {
          const got = await decodeOrReject(keycard, token)
          if (got === undefined) return
          // Accepted: then it really was signed with SECRET, and has a string sub.
          const last = token.lastIndexOf('.')
          assert.equal(token.slice(last + 1), hs256(token.slice(0, last)))
          assert.equal(typeof got.sub, 'string')
        }),
        { numRuns: RUNS },
      )
    }
  })

  test('every minted token verifies, with any identity and extra claims', async () => {
    const keycard = await createKeycard({ secret: SECRET })
    const extra = fc.dictionary(
      fc
        .string({ minLength: 1, maxLength: 8 })
        .filter((k) => !['exp', 'nbf', 'iat', 'sub', 'type', 'jti', 'fresh', 'csrf', 'aud', 'iss'].includes(k)),
      fc.jsonValue({ maxDepth: 3 }),
      { maxKeys: 4 },
    )
    await fc.assert(
      fc.asyncProperty(fc.string({ unit: 'grapheme', minLength: 1, maxLength: 40 }), extra, async (identity, additionalClaims) => {
        const token = await keycard.createAccessToken(identity, { additionalClaims })
        const got = await keycard.decodeToken(token)
        assert.equal(got.sub, identity)
        for (const [key, value] of Object.entries(additionalClaims)) assert.deepEqual(got[key], JSON.parse(JSON.stringify(value)))
        // And through a request, as a guard sees it.
        const context = await keycard.verifyJwtInRequest(view({ headers: { authorization: `Bearer ${token}` } }))
        assert.equal(context?.identity, identity)
      }),
      { numRuns: 100 },
    )
  })
})

// ---- requests -------------------------------------------------------------------------------------------

interface FakeRequest {
  method?: string
  url?: string
  headers: Record<string, string | string[]>
  body?: unknown
}

/** The adapters' NodeRequestView over a hand-made IncomingMessage: the real cookie, query and header parsing. */
function view(req: FakeRequest): NodeRequestView {
  const rawHeaders: string[] = []
  const distinct: Record<string, string[]> = {}
  for (const [name, value] of Object.entries(req.headers)) {
    for (const v of Array.isArray(value) ? value : [value]) rawHeaders.push(name, v)
    distinct[name] = Array.isArray(value) ? value : [value]
  }
  const headers = Object.fromEntries(
    Object.entries(req.headers).map(([k, v]) => [k, Array.isArray(v) && k !== 'set-cookie' ? v.join(', ') : v]),
  )
  const message = { method: req.method ?? 'GET', url: req.url ?? '/', headers, rawHeaders, headersDistinct: distinct }
  return new NodeRequestView(message as unknown as IncomingMessage, req.body)
}

describe('fuzzing token lookup in a request (verifyJwtInRequest)', () => {
  test('hostile Authorization, Cookie, CSRF, query and body: the valid token verifies, anything else is a rendered TokenError', async () => {
    const keycard = await createKeycard({ secret: SECRET, tokenLocation: ALL_LOCATIONS })
    const valid = await keycard.createAccessToken('42')
    const csrf = (await keycard.decodeToken(valid)).csrf as string
    const candidate = fc.oneof(fc.constant(valid), fc.constant(expiredToken()), mutated(valid), craftedToken, anyString)
    const authorization = fc.oneof(
      candidate.map((t) => `Bearer ${t}`),
      fc
        .tuple(
          fc.constantFrom('Bearer', 'bearer', 'Basic', 'Bearer,', ''),
          fc.string({ unit: fc.constantFrom(' ', ',', '\t', 'x'), maxLength: 6 }),
          candidate,
        )
        .map((p) => p.join('')),
      fc.array(
        candidate.map((t) => `Bearer ${t}`),
        { minLength: 2, maxLength: 3 },
      ),
      anyString,
    )
    const cookie = fc.oneof(
      candidate.map((t) => `access_token_cookie=${t}`),
      fc
        .tuple(fc.string({ unit: fc.constantFrom(';', '=', ' ', '"', 'a'), maxLength: 12 }), candidate)
        .map(([noise, t]) => `${noise}access_token_cookie="${t}"`),
      anyString,
    )
    const request = fc.record(
      {
        method: fc.constantFrom('GET', 'POST', 'PUT', 'DELETE', 'PATCH', 'OPTIONS'),
        authorization,
        cookie,
        csrf: fc.oneof(fc.constant(csrf), anyString),
        query: fc.oneof(
          candidate.map((t) => `jwt=${encodeURIComponent(Buffer.from(t).toString())}`),
          anyString.map((s) => s.replaceAll('#', '')),
        ),
        contentType: fc.constantFrom(
          'application/json',
          'application/x-www-form-urlencoded',
          'text/plain',
          'application/ld+json; charset=utf-8',
        ),
        body: fc.oneof(
          hostileJson,
          candidate.map((t) => ({ access_token: t, csrf_token: csrf })),
        ),
      },
      { requiredKeys: ['method'] },
    )
    await fc.assert(
      fc.asyncProperty(request, async (r) => {
        const headers: Record<string, string | string[]> = {}
        if (r.authorization !== undefined) headers.authorization = r.authorization
        if (r.cookie !== undefined) headers.cookie = r.cookie
        if (r.csrf !== undefined) headers['x-csrf-token'] = r.csrf
        if (r.contentType !== undefined) headers['content-type'] = r.contentType
        const req = view({ method: r.method, url: r.query === undefined ? '/' : `/?${r.query}`, headers, body: r.body })
        let context: Awaited<ReturnType<Keycard['verifyJwtInRequest']>>
        try {
          context = await keycard.verifyJwtInRequest(req)
        } catch (err) {
          assertRendered(keycard, err, JSON.stringify(r))
          return
        }
        if (r.method === 'OPTIONS') return assert.equal(context, null)
        // A crafted token signed with SECRET may verify too, with its own sub; the real one is 42's.
        assert.equal(typeof context?.identity, 'string')
        if (r.authorization === `Bearer ${valid}`) assert.equal(context?.identity, '42')
      }),
      { numRuns: RUNS },
    )
  })

  test('parseCookieHeader takes any header: trimmed non-empty names, the first of each name', () => {
    fc.assert(
      fc.property(
        fc.oneof(fc.string({ unit: fc.constantFrom(';', '=', ' ', '"', 'a', 'b', '\t'), maxLength: 60 }), anyString),
        (header) => {
          const cookies = parseCookieHeader(header)
          for (const [name] of cookies) {
            assert.ok(name.length > 0)
            assert.equal(name, name.trim())
          }
          const firstA = header.split(';').find((pair) => pair.includes('=') && pair.slice(0, pair.indexOf('=')).trim() === 'a')
          if (firstA !== undefined) assert.ok(cookies.has('a'))
        },
      ),
      { numRuns: RUNS },
    )
  })
})

/** The HS256 signature `signSegments` gives `input`. */
function hs256(input: string): string {
  return createHmac('sha256', SECRET).update(input).digest('base64url')
}
