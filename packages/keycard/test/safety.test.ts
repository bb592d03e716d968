/**
 * Safety properties, over real HTTP for both adapters: an app's catch-all error handler never turns
 * an auth error into a 500; a token never appears in an error response; `jku`/`x5u`/`kid`/`jwk`
 * headers never make keycard fetch anything or trust a key the token brings; a loader that throws
 * something other than a token error goes to the framework (a 500), and the server keeps serving.
 */

import { describe, test, type TestContext } from 'node:test'
import assert from 'node:assert/strict'
import { subscribe, unsubscribe } from 'node:diagnostics_channel'
import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import { generateKeyPairSync } from 'node:crypto'
import type { Express, NextFunction, Request, Response } from 'express'
import { MemoryRevocationStore, type KeycardOptions } from 'keycard'
import {
  ADAPTERS,
  b64url,
  call,
  claims,
  expectError,
  expectOk,
  now,
  OTHER_SECRET,
  SECRET,
  sign,
  signSegments,
  startApp,
  type AppSpec,
  type Reply,
} from './harness.ts'

/** An app whose own error handler answers 500 for everything, and records what reached it. */
function catchAll(seen: unknown[]): AppSpec {
  return {
    fastify: (app) => {
      app.setErrorHandler((err, _request, reply) => {
        seen.push(err)
        return reply.code(500).send({ error: 'app error handler' })
      })
    },
    express: (app: Express) => {
      app.use((err: unknown, _req: Request, res: Response, _next: NextFunction) => {
        seen.push(err)
        res.status(500).json({ error: 'app error handler' })
      })
    },
    hono: (app) => {
      app.onError((err, c) => {
        seen.push(err)
        return c.json({ error: 'app error handler' }, 500)
      })
    },
  }
}

const MARKER = 'SENSITIVE-MARKER-7f3a'
/** Short enough for V8 to quote whole in a JSON.parse error message ("Unexpected token 'X', "XQZ7f3a" is not valid JSON"). */
const SHORT = 'XQZ7f3a'

/** A battery of bad requests, one per error family, each with its expected status and message. */
async function badTokens(keycard: {
  createAccessToken: (id: string, o?: object) => Promise<string>
  createRefreshToken: (id: string) => Promise<string>
}) {
  const t = now()
  return [
    {
      path: '/protected',
      token: await sign(claims({ secret: MARKER, exp: t - 60, iat: t - 3600, nbf: t - 3600 })),
      status: 401,
      msg: 'Token has expired',
    },
    {
      path: '/protected',
      token: await sign(claims({ secret: MARKER }), { key: OTHER_SECRET }),
      status: 422,
      msg: 'Signature verification failed',
    },
    {
      path: '/protected',
      token: await sign(claims({ secret: MARKER, nbf: t + 600 })),
      status: 422,
      msg: 'The token is not yet valid (nbf)',
    },
    { path: '/protected', token: await sign(claims({ secret: MARKER, sub: 42 })), status: 422, msg: 'Subject must be a string' },
    { path: '/protected', token: await keycard.createRefreshToken(MARKER), status: 422, msg: 'Only non-refresh tokens are allowed' },
    { path: '/refresh', token: await keycard.createAccessToken(MARKER), status: 422, msg: 'Only refresh tokens are allowed' },
    { path: '/fresh', token: await keycard.createAccessToken(MARKER), status: 401, msg: 'Fresh token required' },
    {
      path: '/protected',
      token: await keycard.createAccessToken('revoked', { additionalClaims: { secret: MARKER } }),
      status: 401,
      msg: 'Token has been revoked',
    },
    {
      path: '/protected',
      token: await sign(claims({ secret: MARKER, exp: undefined })),
      status: 422,
      msg: 'Token is missing the "exp" claim',
    },
    { path: '/protected', token: await sign(`{"secret":"${MARKER}","sub":"42"`), status: 422, msg: null },
    { path: '/protected', token: signSegments(b64url(`{"alg":"${MARKER}`), b64url(claims())), status: 422, msg: null },
    { path: '/protected', token: signSegments(b64url(SHORT), b64url(claims())), status: 422, msg: null },
    { path: '/protected', token: await sign(SHORT), status: 422, msg: null },
    {
      path: '/protected',
      token: `${b64url({ alg: 'none' })}.${b64url(claims({ secret: MARKER }))}.`,
      status: 422,
      msg: 'The specified alg value is not allowed',
    },
    { path: '/protected', token: `${MARKER}xx`, status: 422, msg: 'Not enough segments' },
    {
      path: '/protected',
      token: await sign(claims({ secret: MARKER, pad: 'x'.repeat(9000) })),
      status: 422,
      msg: 'Token is too large (over 8192 characters)',
    },
  ]
}

function options(extra: Partial<KeycardOptions> = {}): KeycardOptions {
  return { secret: SECRET, tokenInBlocklist: (_h, c) => c.sub === 'revoked', ...extra }
}

function assertNoEcho(res: Reply, token: string): void {
  const haystacks = [res.text, ...[...res.headers.entries()].map(([k, v]) => `${k}: ${v}`)]
  const needles = [token, ...token.split('.').filter((s) => s.length >= 8), MARKER, SHORT]
  for (const hay of haystacks) {
    for (const needle of needles) assert.ok(!hay.includes(needle), `response leaks token material: ${hay.slice(0, 200)}`)
  }
}

/** A local HTTP server that counts every request it gets. */
async function trap(t: TestContext): Promise<{ url: string; hits: string[] }> {
  const hits: string[] = []
  const server = createServer((req, res) => {
    hits.push(req.url ?? '')
    res.writeHead(200, { 'content-type': 'application/json' }).end('{"keys":[]}')
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  t.after(() => new Promise<void>((resolve) => server.close(() => resolve())))
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
  // Outbound requests are recorded when created (fetch at once, http.request on the next tick), before any
  // byte reaches the trap: one keycard started while answering counts by the time its answer is read.
  const onFetch = (message: unknown) => {
    const { request } = message as { request: { origin: string; path: string } }
    if (request.origin === url) hits.push(request.path)
  }
  const onHttp = (message: unknown) => {
    const { request } = message as { request: { getHeader(name: string): unknown; path: string } }
    if (`http://${request.getHeader('host')}` === url) hits.push(request.path)
  }
  subscribe('undici:request:create', onFetch)
  subscribe('http.client.request.start', onHttp)
  t.after(() => {
    unsubscribe('undici:request:create', onFetch)
    unsubscribe('http.client.request.start', onHttp)
  })
  return { url, hits }
}

for (const adapter of ADAPTERS) {
  describe(`${adapter}: safety`, () => {
    test('an app error handler that answers 500 for everything never sees an auth error', async (t) => {
      const seen: unknown[] = []
      const { url, keycard } = await startApp(t, adapter, options(), catchAll(seen))
      expectError(await call(url, '/protected'), 401, 'Missing Authorization Header', { noCredentials: true })
      expectError(
        await call(url, '/protected', { authorization: 'Bearer a b' }),
        422,
        "Bad Authorization header. Expected 'Authorization: Bearer <JWT>'",
      )
      for (const bad of await badTokens(keycard)) {
        const res = await call(url, bad.path, { token: bad.token })
        if (bad.msg === null) assert.equal(res.status, 422, res.text)
        else expectError(res, bad.status, bad.msg)
      }
      assert.deepEqual(seen, [])
    })

    test('allErrorsAs401 and custom builders are not turned into 500s either', async (t) => {
      const seen: unknown[] = []
      const { url } = await startApp(
        t,
        adapter,
        options({ allErrorsAs401: true, responses: { invalid: (reason) => ({ status: 418, body: { reason } }) } }),
        catchAll(seen),
      )
      const res = await call(url, '/protected', { authorization: 'Bearer x' })
      assert.deepEqual([res.status, res.body], [418, { reason: 'Not enough segments' }])
      expectError(
        await call(url, '/protected', { token: await sign(claims({ exp: now() - 60, iat: now() - 99, nbf: now() - 99 })) }),
        401,
        'Token has expired',
      )
      assert.deepEqual(seen, [])
    })

    test('no error response echoes the token, a segment of it, or its content', async (t) => {
      const { url, keycard } = await startApp(t, adapter, options())
      for (const bad of await badTokens(keycard)) {
        const res = await call(url, bad.path, { token: bad.token })
        assert.equal(res.status, bad.status, `${bad.msg}: ${res.text}`)
        assertNoEcho(res, bad.token)
      }
      for (const authorization of [`Bearer ${MARKER}.a.b extra`, `bearer ${MARKER}`, `Basic ${MARKER}`, `${MARKER}`]) {
        const res = await call(url, '/protected', { authorization })
        assert.ok(res.status === 401 || res.status === 422, res.text)
        assertNoEcho(res, MARKER)
      }
    })

    test('no error response echoes the token with allErrorsAs401, where the message goes into WWW-Authenticate', async (t) => {
      const { url, keycard } = await startApp(t, adapter, options({ allErrorsAs401: true, realm: 'api' }))
      for (const bad of await badTokens(keycard)) {
        const res = await call(url, bad.path, { token: bad.token })
        assert.equal(res.status, 401)
        assertNoEcho(res, bad.token)
      }
    })

    test('jku, x5u and kid headers pointing at a local server never make keycard fetch', async (t) => {
      const { url: trapUrl, hits } = await trap(t)
      const { url } = await startApp(t, adapter, options())
      const headers = [
        { jku: `${trapUrl}/jwks.json` },
        { x5u: `${trapUrl}/cert.pem` },
        { kid: `${trapUrl}/kid` },
        { kid: '../../../../etc/passwd' },
        { jku: `${trapUrl}/jwks.json`, kid: 'k1', x5u: `${trapUrl}/x5u` },
      ]
      for (const header of headers) {
        // Correctly signed: accepted with the configured secret, the URLs ignored.
        expectOk(await call(url, '/protected', { token: await sign(claims(), { header }) }))
        // Signed with another key: refused, still without a fetch.
        expectError(
          await call(url, '/protected', { token: await sign(claims(), { header, key: OTHER_SECRET }) }),
          422,
          'Signature verification failed',
        )
      }
      assert.deepEqual(hits, [])
    })

    test('a key embedded in the token (jwk, x5c) is never trusted', async (t) => {
      const { url: trapUrl, hits } = await trap(t)
      const server = generateKeyPairSync('ec', { namedCurve: 'P-256' })
      const attacker = generateKeyPairSync('ec', { namedCurve: 'P-256' })
      const { url } = await startApp(t, adapter, { algorithm: 'ES256', privateKey: server.privateKey })
      const jwk = attacker.publicKey.export({ format: 'jwk' })
      const forged = await sign(claims(), { key: attacker.privateKey, header: { alg: 'ES256', jwk, jku: `${trapUrl}/jwks` } })
      expectError(await call(url, '/protected', { token: forged }), 422, 'Signature verification failed')
      const x5c = await sign(claims(), { key: attacker.privateKey, header: { alg: 'ES256', x5c: ['MIIB'], x5u: `${trapUrl}/x5u` } })
      expectError(await call(url, '/protected', { token: x5c }), 422, 'Signature verification failed')
      assert.deepEqual(hits, [])
    })

    const throwers: Array<[string, Partial<KeycardOptions>]> = [
      [
        'userLookup throws',
        {
          userLookup: () => {
            throw new Error('db down')
          },
        },
      ],
      [
        'an async tokenInBlocklist rejects',
        {
          tokenInBlocklist: async () => {
            throw new Error('db down')
          },
        },
      ],
      [
        'tokenVerification throws',
        {
          tokenVerification: () => {
            throw new Error('db down')
          },
        },
      ],
      // Thrown synchronously: the guards' same-tick path must hand it on exactly like a rejection.
      [
        'tokenInBlocklist throws',
        {
          tokenInBlocklist: () => {
            throw new Error('db down')
          },
        },
      ],
      [
        'the revocation store throws',
        {
          tokenInBlocklist: undefined,
          revocationStore: {
            revoke: () => {},
            isRevoked: () => {
              throw new Error('db down')
            },
          },
        },
      ],
      [
        'the revocation store rejects',
        {
          tokenInBlocklist: undefined,
          revocationStore: {
            revoke: () => {},
            isRevoked: async () => {
              throw new Error('db down')
            },
          },
        },
      ],
    ]
    for (const [name, extra] of throwers) {
      test(`when ${name}, the error goes to the framework: a 500, and the server keeps serving`, async (t) => {
        const { url, keycard } = await startApp(t, adapter, { ...options(), ...extra })
        const token = await keycard.createAccessToken('42')
        const res = await call(url, '/protected', { token })
        assert.equal(res.status, 500, res.text)
        assertNoEcho(res, token)
        // Auth errors still render normally, and other requests are unaffected.
        expectError(await call(url, '/protected'), 401, 'Missing Authorization Header', { noCredentials: true })
        assert.equal((await call(url, '/protected', { token })).status, 500)
        expectError(await call(url, '/protected', { authorization: 'Bearer x' }), 422, 'Not enough segments')
      })

      test(`when ${name}, the app's own error handler receives the original error`, async (t) => {
        const seen: unknown[] = []
        const { url, keycard } = await startApp(t, adapter, { ...options(), ...extra }, catchAll(seen))
        const res = await call(url, '/protected', { token: await keycard.createAccessToken('42') })
        assert.deepEqual([res.status, res.body], [500, { error: 'app error handler' }])
        assert.equal(seen.length, 1)
        assert.equal((seen[0] as Error).message, 'db down')
      })
    }

    test('an optional route with a throwing loader is a 500, not an anonymous request', async (t) => {
      const { url, keycard } = await startApp(t, adapter, {
        ...options(),
        userLookup: () => {
          throw new Error('db down')
        },
      })
      assert.equal((await call(url, '/optional', { token: await keycard.createAccessToken('42') })).status, 500)
      assert.deepEqual((await call(url, '/optional')).body, { jwt: null })
    })

    test('a revoked token stays revoked across many concurrent requests (no cache bypass)', async (t) => {
      const store = new MemoryRevocationStore()
      t.after(() => store.close())
      const { url, keycard } = await startApp(t, adapter, { secret: SECRET, revocationStore: store })
      const token = await keycard.createAccessToken('42')
      await Promise.all(Array.from({ length: 10 }, async () => expectOk(await call(url, '/protected', { token }))))
      await keycard.revokeToken(await keycard.decodeToken(token))
      const replies = await Promise.all(Array.from({ length: 20 }, () => call(url, '/protected', { token })))
      for (const res of replies) expectError(res, 401, 'Token has been revoked')
    })
  })
}
