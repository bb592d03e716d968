/**
 * Issue 14, a reference row (not a peer as documented): fastify-jwt-jwks.ts with the PEM that get-jwks
 * derives memoized per (domain, alg, kid). get-jwks caches the JWK but `getPublicKey` converts it to
 * PEM through jwk-to-pem (pure-JavaScript elliptic) on every call, which dominates the documented
 * recipe's cost; this row shows what @fastify/jwt's verification costs without that conversion.
 */

import Fastify, { type FastifyRequest } from 'fastify'
import fastifyJwt, { type TokenOrHeader } from '@fastify/jwt'
import buildGetJwks from 'get-jwks'
import { BENCH_PATH } from '../lib.ts'
import { announce, exitOnSignal, host, jwksEnv, port } from './common.ts'

const { issuer } = jwksEnv()
const getJwks = buildGetJwks({ issuersWhitelist: [issuer] })
// Bounded by what get-jwks itself accepts: only the allow-listed issuer's kids reach this map.
const pems = new Map<string, Promise<string>>()

const app = Fastify({ logger: false })
await app.register(fastifyJwt, {
  decode: { complete: true },
  secret: (_request: FastifyRequest, token: TokenOrHeader): Promise<string> => {
    const {
      header: { kid, alg },
      payload: { iss },
    } = token as { header: { kid: string; alg: string }; payload: { iss: string } }
    const key = `${iss} ${alg} ${kid}`
    let pem = pems.get(key)
    if (!pem) {
      pem = getJwks.getPublicKey({ kid, domain: iss, alg })
      pems.set(key, pem)
      pem.catch(() => pems.delete(key))
    }
    return pem
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
