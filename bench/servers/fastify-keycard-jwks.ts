/**
 * Issue 14, resource server 1: Fastify + keycard/fastify on `createKeycard({ jwks: url })`, a verify-only
 * keycard that fetches the issuer's key set (BENCH_JWKS_URL) and checks `iss` (BENCH_ISSUER).
 */

import Fastify from 'fastify'
import { createKeycard } from 'keycard'
import { fastifyKeycard } from 'keycard/fastify'
import { BENCH_PATH } from '../lib.ts'
import { announce, exitOnSignal, host, jwksEnv, port } from './common.ts'

const { jwksUrl, issuer } = jwksEnv()
const keycard = await createKeycard({ jwks: jwksUrl, decodeIssuer: issuer })
const auth = fastifyKeycard(keycard)

const app = Fastify({ logger: false })
await app.register(auth.plugin)
app.get(BENCH_PATH, { preHandler: auth.jwtRequired() }, async (request) => ({ sub: request.jwt!.identity }))

announce(await app.listen({ port, host }))
exitOnSignal(() => app.close())
