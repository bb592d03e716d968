/**
 * Conformance, part 2: decoding a token (segments, base64url, JSON, `alg`, `kid`, signature), the
 * strict-mode refusals, and every algorithm family with real keys, over real HTTP for both adapters.
 */

import { describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { generateKeyPairSync } from 'node:crypto'
import {
  ADAPTERS,
  b64url,
  call,
  claims,
  expectError,
  expectOk,
  OTHER_SECRET,
  SECRET,
  sign,
  signRaw,
  signSegments,
  startApp,
} from './harness.ts'

const HEADER = { alg: 'HS256', typ: 'JWT' }

/** The segment lengthened to 1 more than a multiple of 4, which no base64 string can be. */
function badLength(segment: string): string {
  const extra = (5 - (segment.length % 4)) % 4 || 4
  return segment + 'A'.repeat(extra)
}

/** The segment with its third character replaced (same length). */
const DIGITS = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_'

/** The other spellings of a base64url segment: its last digit with some unused low bits set. */
export function respellings(segment: string): string[] {
  const unused = segment.length % 4 === 2 ? 15 : segment.length % 4 === 3 ? 3 : 0
  const last = DIGITS.indexOf(segment.at(-1)!)
  const out: string[] = []
  for (let bits = 1; bits <= unused; bits++) if ((bits & unused) === bits) out.push(segment.slice(0, -1) + DIGITS[last | bits]!)
  return out
}

function swap(segment: string, c: string): string {
  return segment.slice(0, 2) + c + segment.slice(3)
}

function nested(depth: number): unknown {
  let value: unknown = 1
  for (let i = 0; i < depth; i++) value = { a: value }
  return value
}

for (const adapter of ADAPTERS) {
  describe(`${adapter}: token format`, () => {
    test('a token without three segments is 422 "Not enough segments"', async (t) => {
      const { url } = await startApp(t, adapter, { secret: SECRET })
      expectError(await call(url, '/protected', { authorization: 'Bearer xxx' }), 422, 'Not enough segments')
      expectError(await call(url, '/protected', { authorization: 'Bearer a.b' }), 422, 'Not enough segments')
    })

    test('a segment whose length cannot be base64 is "Invalid <segment> padding", checked header, payload, crypto', async (t) => {
      const { url } = await startApp(t, adapter, { secret: SECRET })
      const [h, p, s] = (await sign(claims())).split('.') as [string, string, string]
      expectError(await call(url, '/protected', { token: `${badLength(h)}.${p}.${s}` }), 422, 'Invalid header padding')
      expectError(await call(url, '/protected', { token: `${h}.${badLength(p)}.${s}` }), 422, 'Invalid payload padding')
      expectError(await call(url, '/protected', { token: `${h}.${p}.${badLength(s)}` }), 422, 'Invalid crypto padding')
      expectError(
        await call(url, '/protected', { token: `${badLength(h)}.${badLength(p)}.${badLength(s)}` }),
        422,
        'Invalid header padding',
      )
      expectError(await call(url, '/protected', { token: `${h}.${badLength(p)}.${badLength(s)}` }), 422, 'Invalid payload padding')
    })

    test('a header that is not JSON is 422 "Invalid header string: …"', async (t) => {
      const { url } = await startApp(t, adapter, { secret: SECRET })
      const res = await call(url, '/protected', { token: signSegments(b64url('not json'), b64url(claims())) })
      assert.equal(res.status, 422)
      assert.match(res.body.msg, /^Invalid header string: \S/)
    })

    test('a header that is JSON but not an object is 422 "Invalid header string: must be a json object"', async (t) => {
      const { url } = await startApp(t, adapter, { secret: SECRET })
      for (const header of [['HS256'], '"HS256"', 42, null, true]) {
        expectError(
          await call(url, '/protected', { token: signRaw(header, claims()) }),
          422,
          'Invalid header string: must be a json object',
        )
      }
    })

    test('a payload that is not JSON is 422 "Invalid payload string: …"', async (t) => {
      const { url } = await startApp(t, adapter, { secret: SECRET })
      const res = await call(url, '/protected', { token: await sign('{"sub": ') })
      assert.equal(res.status, 422)
      assert.match(res.body.msg, /^Invalid payload string: \S/)
    })

    test('a payload that is JSON but not an object is 422 "Invalid payload string: must be a json object"', async (t) => {
      const { url } = await startApp(t, adapter, { secret: SECRET })
      for (const payload of ['[1,2]', '"sub"', '42', 'null', 'true']) {
        expectError(await call(url, '/protected', { token: await sign(payload) }), 422, 'Invalid payload string: must be a json object')
      }
    })

    test('a header without alg is 422 "Algorithm not specified"', async (t) => {
      const { url } = await startApp(t, adapter, { secret: SECRET })
      expectError(await call(url, '/protected', { token: signRaw({ typ: 'JWT' }, claims()) }), 422, 'Algorithm not specified')
    })

    test('alg "none" is 422 "The specified alg value is not allowed", signed or not', async (t) => {
      const { url } = await startApp(t, adapter, { secret: SECRET })
      const payload = b64url(claims())
      expectError(
        await call(url, '/protected', { token: `${b64url({ alg: 'none', typ: 'JWT' })}.${payload}.` }),
        422,
        'The specified alg value is not allowed',
      )
      expectError(
        await call(url, '/protected', { token: signRaw({ alg: 'none' }, claims()) }),
        422,
        'The specified alg value is not allowed',
      )
      for (const alg of ['None', 'NONE', 'nOnE']) {
        expectError(
          await call(url, '/protected', { token: `${b64url({ alg })}.${payload}.` }),
          422,
          'The specified alg value is not allowed',
        )
      }
    })

    test('HS512 is 422 "The specified alg value is not allowed" when only HS256 is allowed, and verifies once allowed', async (t) => {
      const token = await sign(claims(), { header: { alg: 'HS512' }, key: SECRET + SECRET })
      const strictApp = await startApp(t, adapter, { secret: SECRET + SECRET })
      expectError(await call(strictApp.url, '/protected', { token }), 422, 'The specified alg value is not allowed')
      const both = await startApp(t, adapter, { secret: SECRET + SECRET, decodeAlgorithms: ['HS256', 'HS512'] })
      assert.equal(expectOk(await call(both.url, '/protected', { token })).header.alg, 'HS512')
    })

    test('a non-string alg is 422 "The specified alg value is not allowed"', async (t) => {
      const { url } = await startApp(t, adapter, { secret: SECRET })
      expectError(
        await call(url, '/protected', { token: signRaw({ alg: ['HS256'] }, claims()) }),
        422,
        'The specified alg value is not allowed',
      )
    })

    test('a non-string kid is 422 "Key ID header parameter must be a string"', async (t) => {
      const { url } = await startApp(t, adapter, { secret: SECRET })
      for (const kid of [1, null, ['k1'], { k: 1 }]) {
        expectError(
          await call(url, '/protected', { token: await sign(claims(), { header: { kid } }) }),
          422,
          'Key ID header parameter must be a string',
        )
      }
      assert.equal(expectOk(await call(url, '/protected', { token: await sign(claims(), { header: { kid: 'k1' } }) })).header.kid, 'k1')
    })

    test('a token signed with another secret is 422 "Signature verification failed"', async (t) => {
      const { url } = await startApp(t, adapter, { secret: SECRET })
      expectError(
        await call(url, '/protected', { token: await sign(claims(), { key: OTHER_SECRET }) }),
        422,
        'Signature verification failed',
      )
    })

    test('a tampered payload or a truncated signature is 422 "Signature verification failed"', async (t) => {
      const { url, keycard } = await startApp(t, adapter, { secret: SECRET })
      const [h, , s] = (await keycard.createAccessToken('42')).split('.') as [string, string, string]
      expectError(
        await call(url, '/protected', { token: `${h}.${b64url(claims({ sub: 'admin' }))}.${s}` }),
        422,
        'Signature verification failed',
      )
      expectError(
        await call(url, '/protected', { token: `${h}.${b64url(claims())}.${s.slice(0, 40)}` }),
        422,
        'Signature verification failed',
      )
      expectError(await call(url, '/protected', { token: `${h}.${b64url(claims())}.` }), 422, 'Signature verification failed')
    })
  })

  describe(`${adapter}: strict-mode refusals (422, never 500)`, () => {
    test('a token without exp is 422 "Token is missing the "exp" claim"', async (t) => {
      const { url } = await startApp(t, adapter, { secret: SECRET })
      expectError(await call(url, '/protected', { token: await sign(claims({ exp: undefined })) }), 422, 'Token is missing the "exp" claim')
    })

    test('a token without exp is accepted when that token type never expires', async (t) => {
      const { url } = await startApp(t, adapter, { secret: SECRET, accessTokenExpires: false })
      expectOk(await call(url, '/protected', { token: await sign(claims({ exp: undefined })) }))
      // Refresh tokens still expire, so one without exp is refused.
      expectError(
        await call(url, '/refresh', { token: await sign(claims({ exp: undefined, type: 'refresh' })) }),
        422,
        'Token is missing the "exp" claim',
      )
    })

    test('a token without jti is 422 "Token is missing the "jti" claim"', async (t) => {
      const { url } = await startApp(t, adapter, { secret: SECRET })
      expectError(await call(url, '/protected', { token: await sign(claims({ jti: undefined })) }), 422, 'Token is missing the "jti" claim')
    })

    test('a token without type is 422 "Token is missing the "type" claim"', async (t) => {
      const { url } = await startApp(t, adapter, { secret: SECRET })
      expectError(
        await call(url, '/protected', { token: await sign(claims({ type: undefined })) }),
        422,
        'Token is missing the "type" claim',
      )
    })

    test('a token of an unknown type is 422', async (t) => {
      const { url } = await startApp(t, adapter, { secret: SECRET })
      for (const type of ['app', 'Access', 1, null]) {
        expectError(
          await call(url, '/any', { token: await sign(claims({ type })) }),
          422,
          'Invalid token type: expected "access" or "refresh"',
        )
      }
    })

    test("a crit header is 422 with PyJWT's crit messages; strict mode implements no extension, not even b64", async (t) => {
      const { url } = await startApp(t, adapter, { secret: SECRET })
      const cases: [unknown, string][] = [
        [['exp'], 'Unsupported critical extension'],
        [['b64'], 'Unsupported critical extension: b64'],
        [[], "Invalid 'crit' header: must be a non-empty list"],
        ['x', "Invalid 'crit' header: must be a non-empty list"],
        [[1], "Invalid 'crit' header: values must be strings"],
      ]
      for (const [crit, msg] of cases) {
        expectError(await call(url, '/protected', { token: signRaw({ ...HEADER, crit, exp: 1, b64: true }, claims()) }), 422, msg)
      }
    })

    test("PyJWT checks kid and crit before the payload's JSON, alg after it", async (t) => {
      for (const strict of [true, false]) {
        const { url } = await startApp(t, adapter, { secret: SECRET, strict })
        expectError(
          await call(url, '/protected', { token: signRaw({ ...HEADER, kid: 1 }, 'not json') }),
          422,
          'Key ID header parameter must be a string',
        )
        expectError(
          await call(url, '/protected', { token: signRaw({ ...HEADER, crit: [] }, 'not json') }),
          422,
          "Invalid 'crit' header: must be a non-empty list",
        )
        expectError(
          await call(url, '/protected', { token: signRaw({ typ: 'JWT' }, '[]') }),
          422,
          'Invalid payload string: must be a json object',
        )
      }
    })

    test('a signature with set bits after its last byte is 422 "Invalid crypto padding" (one spelling per signature)', async (t) => {
      const { url } = await startApp(t, adapter, { secret: SECRET })
      const token = await sign(claims())
      const [h, p, s] = token.split('.') as [string, string, string]
      expectOk(await call(url, '/protected', { token }))
      // HS256: 43 digits, the last one carries 2 unused bits, so three other spellings decode to the same bytes.
      for (const spelling of respellings(s)) {
        assert.deepEqual(Buffer.from(spelling, 'base64url'), Buffer.from(s, 'base64url'))
        expectError(await call(url, '/protected', { token: `${h}.${p}.${spelling}` }), 422, 'Invalid crypto padding')
      }
    })

    test('characters outside base64url in any segment are 422 "Invalid <segment> padding"', async (t) => {
      const { url } = await startApp(t, adapter, { secret: SECRET })
      const [h, p, s] = (await sign(claims())).split('.') as [string, string, string]
      for (const c of ['+', '/', '=', '!', '~', '%']) {
        expectError(await call(url, '/protected', { token: `${swap(h, c)}.${p}.${s}` }), 422, 'Invalid header padding')
        expectError(await call(url, '/protected', { token: `${h}.${swap(p, c)}.${s}` }), 422, 'Invalid payload padding')
        expectError(await call(url, '/protected', { token: `${h}.${p}.${swap(s, c)}` }), 422, 'Invalid crypto padding')
      }
      // Standard base64 padding on the 43-character HS256 signature.
      expectError(await call(url, '/protected', { token: `${h}.${p}.${s}=` }), 422, 'Invalid crypto padding')
    })

    test('a payload nested deeper than 16 levels is 422, 16 levels is accepted', async (t) => {
      const { url } = await startApp(t, adapter, { secret: SECRET })
      const deep = await call(url, '/protected', { token: await sign(claims({ data: nested(17) })) })
      expectError(deep, 422, 'Invalid payload string: nested deeper than 16 levels')
      const veryDeep = await call(url, '/protected', { token: await sign(`{"sub":"42","x":${'['.repeat(3000)}${']'.repeat(3000)}}`) })
      expectError(veryDeep, 422, 'Invalid payload string: nested deeper than 16 levels')
      expectOk(await call(url, '/protected', { token: await sign(claims({ data: nested(15) })) }))
    })

    test('a token longer than 8192 characters is 422 before any parsing', async (t) => {
      const { url } = await startApp(t, adapter, { secret: SECRET })
      const big = await sign(claims({ pad: 'x'.repeat(8000) }))
      assert.ok(big.length > 8192)
      expectError(await call(url, '/protected', { token: big }), 422, 'Token is too large (over 8192 characters)')
      expectError(
        await call(url, '/protected', { authorization: `Bearer ${'a'.repeat(8193)}` }),
        422,
        'Token is too large (over 8192 characters)',
      )
      expectOk(await call(url, '/protected', { token: await sign(claims({ pad: 'x'.repeat(5000) })) }))
    })

    test('maxTokenLength lowers the bound', async (t) => {
      const { url, keycard } = await startApp(t, adapter, { secret: SECRET, maxTokenLength: 100 })
      expectError(
        await call(url, '/protected', { token: await keycard.createAccessToken('42') }),
        422,
        'Token is too large (over 100 characters)',
      )
    })

    test('strict:false accepts a token carrying only sub, as a non-fresh access token', async (t) => {
      const { url } = await startApp(t, adapter, { secret: SECRET, strict: false })
      const token = await sign({ sub: '42' })
      const ctx = expectOk(await call(url, '/protected', { token }))
      assert.equal(ctx.identity, '42')
      assert.deepEqual(ctx.claims, { sub: '42', type: 'access', fresh: false })
      expectError(await call(url, '/fresh', { token }), 401, 'Fresh token required')
      expectError(await call(url, '/refresh', { token }), 422, 'Only refresh tokens are allowed')
    })

    test('strict:false refuses a signature in the standard base64 alphabet (+ or /), as current PyJWT; so does strict mode', async (t) => {
      const lenient = await startApp(t, adapter, { secret: SECRET, strict: false })
      const strict = await startApp(t, adapter, { secret: SECRET })
      // A signature whose standard-alphabet spelling differs ('+' or '/').
      let token = ''
      for (let n = 0; !/[+/]/.test(token.split('.')[2] ?? ''); n++) {
        const [h, p, s] = (await sign(claims({ n }))).split('.') as [string, string, string]
        token = `${h}.${p}.${Buffer.from(s, 'base64url').toString('base64').replace(/=+$/, '')}`
      }
      expectError(await call(lenient.url, '/protected', { token }), 422, 'Invalid crypto padding')
      expectError(await call(strict.url, '/protected', { token }), 422, 'Invalid crypto padding')
      // Malleable spellings are refused without strict mode too.
      const good = await sign(claims())
      const [h, p, s] = good.split('.') as [string, string, string]
      expectOk(await call(lenient.url, '/protected', { token: good }))
      for (const spelling of respellings(s))
        expectError(await call(lenient.url, '/protected', { token: `${h}.${p}.${spelling}` }), 422, 'Invalid crypto padding')
    })

    test("strict:false applies PyJWT's crit rules: only b64 (true, and present) is understood", async (t) => {
      const { url } = await startApp(t, adapter, { secret: SECRET, strict: false })
      expectOk(await call(url, '/protected', { token: signRaw({ ...HEADER, crit: ['b64'], b64: true }, { sub: '42' }) }))
      expectError(
        await call(url, '/protected', { token: signRaw({ ...HEADER, crit: ['exp'], exp: 1 }, { sub: '42' }) }),
        422,
        'Unsupported critical extension',
      )
      expectError(
        await call(url, '/protected', { token: signRaw({ ...HEADER, crit: ['b64'] }, { sub: '42' }) }),
        422,
        "Critical extension 'b64' is missing from headers",
      )
      expectError(
        await call(url, '/protected', { token: signRaw({ ...HEADER, crit: [] }, { sub: '42' }) }),
        422,
        "Invalid 'crit' header: must be a non-empty list",
      )
      expectError(
        await call(url, '/protected', { token: signRaw({ ...HEADER, crit: ['b64'], b64: false }, { sub: '42' }) }),
        422,
        'It is required that you pass in a value for the "detached_payload" argument to decode a message having the b64 header set to false.',
      )
    })

    test('strict:false accepts an unknown type on an access route and deep nesting', async (t) => {
      const { url } = await startApp(t, adapter, { secret: SECRET, strict: false })
      assert.equal(expectOk(await call(url, '/protected', { token: await sign({ sub: '42', type: 'app' }) })).claims.type, 'app')
      expectOk(await call(url, '/protected', { token: await sign({ sub: '42', data: nested(40) }) }))
    })
  })

  describe(`${adapter}: algorithms and keys`, () => {
    const families = [
      { alg: 'RS256', pair: () => generateKeyPairSync('rsa', { modulusLength: 2048 }) },
      { alg: 'PS256', pair: () => generateKeyPairSync('rsa', { modulusLength: 2048 }) },
      { alg: 'ES256', pair: () => generateKeyPairSync('ec', { namedCurve: 'P-256' }) },
      { alg: 'EdDSA', pair: () => generateKeyPairSync('ed25519') },
    ] as const

    for (const { alg, pair } of families) {
      test(`${alg} tokens minted by createAccessToken pass the guard, and a token from another key does not`, async (t) => {
        const { privateKey, publicKey } = pair()
        const privatePem = privateKey.export({ type: 'pkcs8', format: 'pem' }).toString()
        const publicPem = publicKey.export({ type: 'spki', format: 'pem' }).toString()
        const { url, keycard } = await startApp(t, adapter, { algorithm: alg, privateKey: privatePem, publicKey: publicPem })
        const token = await keycard.createAccessToken('42', { fresh: true })
        const ctx = expectOk(await call(url, '/fresh', { token }))
        assert.deepEqual([ctx.identity, ctx.header.alg], ['42', alg])
        const refresh = await keycard.createRefreshToken('42')
        assert.equal(expectOk(await call(url, '/refresh', { token: refresh })).claims.type, 'refresh')
        const other = pair().privateKey
        expectError(
          await call(url, '/protected', { token: await sign(claims(), { header: { alg }, key: other }) }),
          422,
          'Signature verification failed',
        )
        // An HS256 token is refused outright: only the configured algorithm is allowed.
        expectError(await call(url, '/protected', { token: await sign(claims()) }), 422, 'The specified alg value is not allowed')
      })
    }

    test('a verify-only keycard (public key only) accepts tokens from the private key', async (t) => {
      const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' })
      const { url } = await startApp(t, adapter, { algorithm: 'ES256', publicKey })
      expectOk(await call(url, '/protected', { token: await sign(claims(), { header: { alg: 'ES256' }, key: privateKey }) }))
    })

    test('an HS256 token signed with the RSA public key PEM as secret is rejected (algorithm confusion)', async (t) => {
      const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 })
      const publicPem = publicKey.export({ type: 'spki', format: 'pem' }).toString()
      const forged = await sign(claims(), { header: { alg: 'HS256' }, key: publicPem })
      const rsaOnly = await startApp(t, adapter, { algorithm: 'RS256', privateKey, publicKey: publicPem })
      expectError(await call(rsaOnly.url, '/protected', { token: forged }), 422, 'The specified alg value is not allowed')
      // Even when HS256 is also allowed, HS256 verifies with the secret, never with the public key.
      const mixed = await startApp(t, adapter, {
        algorithm: 'RS256',
        privateKey,
        publicKey: publicPem,
        secret: SECRET,
        decodeAlgorithms: ['RS256', 'HS256'],
      })
      expectError(await call(mixed.url, '/protected', { token: forged }), 422, 'Signature verification failed')
      expectOk(await call(mixed.url, '/protected', { token: await sign(claims()) }))
      expectOk(await call(mixed.url, '/protected', { token: await mixed.keycard.createAccessToken('42') }))
    })

    test('an ES256 token is refused by an RS256 keycard even when its signature bytes are well-formed', async (t) => {
      const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 })
      const ec = generateKeyPairSync('ec', { namedCurve: 'P-256' })
      const { url } = await startApp(t, adapter, { algorithm: 'RS256', privateKey: rsa.privateKey })
      expectError(
        await call(url, '/protected', { token: await sign(claims(), { header: { alg: 'ES256' }, key: ec.privateKey }) }),
        422,
        'The specified alg value is not allowed',
      )
    })
  })
}
