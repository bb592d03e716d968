/**
 * A rotation under load: an auth server in keyring mode (JWKS_MAX_AGE=1, so a next key is published
 * 2 s before it signs) and a resource server built on the library (Fastify + keycard/fastify with
 * `createKeycard({ jwks })`), both on real HTTP. Client loops keep refreshing their tokens at the auth
 * server and calling the resource server with each new access token, while the test runs
 * `keycard keys rotate` twice (a further process on the same SQLite file), each time waiting until the
 * resource server has verified a token of the new key. Zero requests may fail; tokens of three kids are
 * verified; the resource server's JWKS fetches stay within what its cache allows.
 */

import assert from 'node:assert/strict'
import { performance } from 'node:perf_hooks'
import { test } from 'node:test'
import Fastify from 'fastify'
import { decodeProtectedHeader } from 'jose'
import { createKeycard } from 'keycard'
import { fastifyKeycard } from 'keycard/fastify'
import { httpApi, startServer } from './helpers.ts'
import { keycardCli, pollUntil } from './instances.ts'

/** Client loops running at once, each its own login session. */
const CLIENTS = 2
/** The loops stop after this many requests in all, whatever happened (the test then fails if the rotations were not seen). */
const MAX_REQUESTS = 20_000
/** Requests verified with the last key before the loops stop. */
const AFTER_LAST_ROTATION = 50
/** At least 30 s of waiting, 10 ms apart, for a rotation to reach the resource server. */
const POLL = { tries: 3000, gapMs: 10 }

test('a resource server on keycard({ jwks }) verifies a steady stream of tokens while the auth server rotates twice: zero failures', {
  timeout: 120_000,
}, async (t) => {
  // Registered first, so it runs first when the test ends: the loops stop before the servers close.
  let stop = false
  let loops: Promise<unknown> = Promise.resolve()
  t.after(async () => {
    stop = true
    await loops.catch(() => undefined)
  })
  const server = await startServer(t, { JWT_SECRET: undefined, JWT_ALGORITHM: 'ES256', JWKS_MAX_AGE: '1' }, { revocationSyncMs: 100 })
  const discovery = await server.api('GET', '/.well-known/openid-configuration')
  assert.equal(discovery.status, 200, discovery.text)
  const jwksUrl = new URL('/.well-known/jwks.json', server.url)

  // The resource server: verify-only, from the auth server's JWKS, counting its fetches.
  let fetches = 0
  const counted: typeof fetch = (input, init) => {
    fetches++
    return fetch(input, init)
  }
  const keycard = await createKeycard({ jwks: jwksUrl.href, jwksOptions: { fetch: counted }, decodeIssuer: discovery.body.issuer })
  const auth = fastifyKeycard(keycard)
  const resource = Fastify()
  await resource.register(auth.plugin)
  resource.get('/resource', { preHandler: auth.jwtRequired() }, (req) => ({ kid: req.jwt!.header.kid, sub: req.jwt!.identity }))
  const resourceUrl = await resource.listen({ port: 0, host: '127.0.0.1' })
  t.after(() => resource.close())
  const callResource = httpApi(resourceUrl)

  // The load: each client refreshes (rotating its refresh token) and calls the resource server with the new access token.
  const failures: string[] = []
  const verifiedByKid = new Map<string, number>()
  let requests = 0
  const started = performance.now()
  const client = async (n: number) => {
    const username = `client${n}`
    let { refresh_token: refresh } = await server.register(username)
    while (!stop && requests < MAX_REQUESTS) {
      requests += 2
      try {
        const refreshed = await server.api('POST', '/auth/refresh', { token: refresh })
        if (refreshed.status !== 200) {
          failures.push(`auth server refresh: ${refreshed.status} ${refreshed.text}`)
          refresh = (await server.login(username)).refresh_token
          continue
        }
        refresh = refreshed.body.refresh_token
        const access: string = refreshed.body.access_token
        const kid = decodeProtectedHeader(access).kid!
        const res = await callResource('GET', '/resource', { token: access })
        if (res.status !== 200 || res.body.kid !== kid) failures.push(`resource server, a token of ${kid}: ${res.status} ${res.text}`)
        else verifiedByKid.set(kid, (verifiedByKid.get(kid) ?? 0) + 1)
      } catch (err) {
        failures.push(`a request failed: ${(err as Error).message}`)
      }
    }
  }
  let loopsEnded = false
  loops = Promise.all(Array.from({ length: CLIENTS }, (_, n) => client(n))).finally(() => {
    loopsEnded = true
  })

  /** Fails at once, with the first few, when a request has failed (the loops keep running until the test ends). */
  const noFailures = (stage: string) =>
    assert.equal(
      failures.length,
      0,
      `${failures.length} requests failed ${stage} (of ${requests}; ${fetches} JWKS fetches; verified by kid: ${JSON.stringify([...verifiedByKid])}). First:\n${failures.slice(0, 3).join('\n')}`,
    )
  /** Waits (bounded) until the resource server has verified `count` tokens of a kid not in `known`, or a request fails; returns that kid. */
  const untilVerifiedNewKid = async (known: string[], stage: string, count = 1): Promise<string> => {
    const fresh = () => [...verifiedByKid].find(([kid, seen]) => !known.includes(kid) && seen >= count)?.[0]
    await pollUntil(
      async () => fresh(),
      (kid) => kid !== undefined || loopsEnded || failures.length > 0,
      POLL,
    )
    noFailures(stage)
    const kid = fresh()
    assert.ok(kid, `no token of a new key verified by the resource server ${stage} (verified: ${JSON.stringify([...verifiedByKid])})`)
    return kid
  }
  const rotate = async () => {
    const res = await keycardCli(t, server.dbPath, ['keys', 'rotate'], { JWT_SECRET: undefined, JWT_ALGORITHM: 'ES256', JWKS_MAX_AGE: '1' })
    assert.equal(res.code, 0, `keycard keys rotate: ${res.stdout}${res.stderr}`)
  }

  const first = await untilVerifiedNewKid([], 'before the rotations', 20)
  await rotate()
  const second = await untilVerifiedNewKid([first], 'in the first rotation')
  await rotate()
  const third = await untilVerifiedNewKid([first, second], 'in the second rotation', AFTER_LAST_ROTATION)
  stop = true
  await loops
  const elapsed = performance.now() - started

  t.diagnostic(
    `${requests} requests, ${fetches} JWKS fetches in ${Math.round(elapsed)} ms; verified by kid: ${JSON.stringify([...verifiedByKid])}`,
  )
  noFailures('after the rotations')
  assert.ok(verifiedByKid.size >= 3, `tokens of at least 3 kids verified: ${JSON.stringify([...verifiedByKid])}`)
  assert.deepEqual(
    [first, second, third].map((kid) => verifiedByKid.has(kid)),
    [true, true, true],
  )
  // At most one fetch per cache lifetime (max-age=1), plus the first and one refetch per new kid;
  // at least one per rotation (the keys were learned from the JWKS, not guessed).
  const bound = Math.ceil(elapsed / 1000) + 1 + 2
  assert.ok(fetches <= bound, `${fetches} JWKS fetches in ${Math.round(elapsed)} ms: at most ${bound}`)
  assert.ok(fetches >= 3, `${fetches} JWKS fetches: at least the first and one per rotation`)
  assert.ok(fetches * 10 < requests, `${fetches} JWKS fetches for ${requests} requests: the set is cached`)
})
