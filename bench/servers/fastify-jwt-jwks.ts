/**
 * Issue 14, resource server 2: Fastify + @fastify/jwt with get-jwks, as @fastify/jwt's README
 * ("Verifying with JWKS") configures it: the key found by the token's kid, alg and iss. get-jwks is
 * given the issuer allow-list its own README shows, so a token cannot send it to another domain.
 */

import Fastify, { type FastifyRequest } from 'fastify'
import fastifyJwt, { type TokenOrHeader } from '@fastify/jwt'
import buildGetJwks from 'get-jwks'
import { BENCH_PATH } from '../lib.ts'
import { announce, exitOnSignal, host, jwksEnv, port } from './common.ts'

const { issuer } = jwksEnv()
const getJwks = buildGetJwks({ issuersWhitelist: [issuer] })

const app = Fastify({ logger: false })
await app.register(fastifyJwt, {
  decode: { complete: true },
  secret: (_request: FastifyRequest, token: TokenOrHeader): Promise<string> => {
    const {
      header: { kid, alg },
      payload: { iss },
    } = token as { header: { kid: string; alg: string }; payload: { iss: string } }
    return getJwks.getPublicKey({ kid, domain: iss, alg })
  },
})
app.addHook('onRequest', async (request, reply) => {
  try {
    await request.jwtVerify()
  } catch (err) {
    return reply.send(err)
  }
})
app.get(BENCH_PATH, async (request) => ({ sub: (request.user as { sub: string }).sub }))

announce(await app.listen({ port, host }))
exitOnSignal(() => app.close())
