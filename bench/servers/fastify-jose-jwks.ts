/**
 * Issue 14, resource server 3: Fastify + jose, `createRemoteJWKSet(url)` and `jwtVerify` (algorithm
 * and issuer pinned) in an onRequest hook; a missing or refused token is a 401.
 */

import Fastify from 'fastify'
import { createRemoteJWKSet, jwtVerify, type JWTPayload } from 'jose'
import { BENCH_PATH } from '../lib.ts'
import { announce, exitOnSignal, host, jwksEnv, port } from './common.ts'

const { jwksUrl, issuer } = jwksEnv()
const keySet = createRemoteJWKSet(new URL(jwksUrl))

declare module 'fastify' {
  interface FastifyRequest {
    claims?: JWTPayload
  }
}

const app = Fastify({ logger: false })
app.addHook('onRequest', async (request, reply) => {
  const header = request.headers.authorization
  if (!header?.startsWith('Bearer ')) return reply.code(401).send({ msg: 'Missing Authorization Header' })
  try {
    request.claims = (await jwtVerify(header.slice(7), keySet, { issuer, algorithms: ['ES256'] })).payload
  } catch {
    return reply.code(401).send({ msg: 'Invalid token' })
  }
})
app.get(BENCH_PATH, async (request) => ({ sub: request.claims!.sub }))

announce(await app.listen({ port, host }))
exitOnSignal(() => app.close())
