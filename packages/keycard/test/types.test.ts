/**
 * Compile-time checks of the public types: `npx tsc -p packages/keycard` fails if any `Equals` below
 * is false or any `@ts-expect-error` line stops being an error. One runtime test keeps the file a
 * real test and checks the adapters hand back what the types promise.
 */

import { test } from 'node:test'
import assert from 'node:assert/strict'
import type { FastifyRequest } from 'fastify'
import type { JWK } from 'jose'
import type { Request as ExpressRequest } from 'express'
import {
  createKeycard,
  type KeycardError,
  ExpiredSignatureError,
  type InvalidQueryParamError,
  isKeycardError,
  isTokenError,
  type JWTDecodeError,
  type KeycardOptionError,
  type TokenError,
  type AnyKeycardError,
  type AnyTokenError,
  type Algorithm,
  type Duration,
  type JwtClaims,
  type JwtContext,
  type JwtHeader,
  type JwtRequiredOptions,
  type Keycard,
  type KeyEntry,
  type JwksUnavailableError,
  type KeycardErrorCode,
  type KeycardOptions,
  type TokenLocation,
} from 'keycard'
import { fastifyKeycard } from 'keycard/fastify'
import { expressKeycard } from 'keycard/express'

type Equals<A, B> = (<T>() => T extends A ? 1 : 2) extends <T>() => T extends B ? 1 : 2 ? true : false
function expectType<T extends true>(): T | undefined {
  return undefined
}

interface User {
  id: string
  roles: string[]
}

const SECRET = 'types-test-secret-0123456789-0123456789'

// ---- createKeycard<User> flows User to the adapters' context -----------------------------------

async function typedUser(): Promise<void> {
  const kc = await createKeycard<User>({ secret: SECRET, userLookup: async (_h, claims) => ({ id: claims.sub!, roles: [] }) })
  expectType<Equals<typeof kc, Keycard<User>>>()
  const fastify = fastifyKeycard(kc)
  const ctx = fastify.context({} as FastifyRequest)
  expectType<Equals<typeof ctx, JwtContext<User>>>()
  expectType<Equals<typeof ctx.user, User>>()
  expectType<Equals<typeof ctx.identity, string>>()
  expectType<Equals<typeof ctx.header, JwtHeader>>()
  expectType<Equals<typeof ctx.claims, JwtClaims>>()
  expectType<Equals<typeof ctx.location, TokenLocation>>()
  expectType<
    Equals<ReturnType<typeof expressKeycard<User>>['context'] extends (req: ExpressRequest) => infer C ? C : never, JwtContext<User>>
  >()
  expectType<Equals<Awaited<ReturnType<typeof kc.verifyJwtInRequest>>, JwtContext<User> | null>>()
  // @ts-expect-error the user is a User, not a string
  const wrong: string = ctx.user
  void wrong

  // userLookup must return the declared User (or null/undefined).
  // @ts-expect-error roles is missing
  await createKeycard<User>({ secret: SECRET, userLookup: () => ({ id: '1' }) })
  await createKeycard<User>({ secret: SECRET, userLookup: () => null })
  // Without a type argument the user is unknown.
  const plain = await createKeycard({ secret: SECRET })
  expectType<Equals<ReturnType<ReturnType<typeof fastifyKeycard<unknown>>['context']>['user'], unknown>>()
  void plain
}

// ---- JwtClaims and JwtHeader --------------------------------------------------------------------

function claimTypes(claims: JwtClaims, header: JwtHeader): void {
  expectType<Equals<typeof claims.fresh, boolean | number | undefined>>()
  expectType<Equals<typeof claims.iat, number | undefined>>()
  expectType<Equals<typeof claims.nbf, number | undefined>>()
  expectType<Equals<typeof claims.exp, number | undefined>>()
  expectType<Equals<typeof claims.jti, string | undefined>>()
  expectType<Equals<typeof claims.sub, string | undefined>>()
  expectType<Equals<typeof claims.csrf, string | undefined>>()
  expectType<Equals<typeof claims.type, string | undefined>>()
  expectType<Equals<typeof claims.iss, string | undefined>>()
  expectType<Equals<typeof claims.aud, string | string[] | undefined>>()
  expectType<Equals<(typeof claims)['role'], unknown>>() // extra claims are allowed, untyped
  expectType<Equals<typeof header.alg, string>>()
  expectType<Equals<typeof header.kid, string | undefined>>()
  // @ts-expect-error exp is a number
  const exp: string = claims.exp!
  void exp
}

// ---- options are checked at compile time too ----------------------------------------------------

async function optionTypes(kc: Keycard<User>): Promise<void> {
  const fastify = fastifyKeycard(kc)
  const express = expressKeycard(kc)
  fastify.jwtRequired({ optional: true, fresh: true, locations: ['headers', 'cookies'], verifyType: false, skipRevocationCheck: true })
  express.jwtRequired({ refresh: true, locations: 'json' })
  // @ts-expect-error unknown jwtRequired option
  fastify.jwtRequired({ bogus: true })
  // @ts-expect-error unknown jwtRequired option
  express.jwtRequired({ freshness: true })
  // @ts-expect-error fresh is a boolean
  fastify.jwtRequired({ fresh: 'yes' })
  // @ts-expect-error not a token location
  kc.guardOptions({ locations: ['header'] })
  expectType<Equals<keyof JwtRequiredOptions, 'optional' | 'fresh' | 'refresh' | 'locations' | 'verifyType' | 'skipRevocationCheck'>>()

  await kc.createAccessToken('1', { fresh: '15m', expiresIn: 3600, additionalClaims: { role: 'admin' }, additionalHeaders: { kid: 'k1' } })
  await kc.createAccessToken('1', { expiresIn: false })
  // @ts-expect-error refresh tokens are never fresh
  await kc.createRefreshToken('1', { fresh: true })
  // @ts-expect-error not a duration
  await kc.createAccessToken('1', { expiresIn: '15 minutes' })
  const d: Duration = '30d'
  void d

  // @ts-expect-error unknown option key
  await createKeycard({ secret: SECRET, secretKey: SECRET })
  // @ts-expect-error 'none' is not an Algorithm
  await createKeycard({ secret: SECRET, algorithm: 'none' })
  // @ts-expect-error not a token location
  await createKeycard({ secret: SECRET, tokenLocation: ['header'] })
  const options: KeycardOptions<User> = { secret: SECRET, accessTokenExpires: false, refreshTokenExpires: '30d', leeway: 5 }
  void options

  // Keys mode and jwks mode.
  const entries: KeyEntry[] = [{ kid: 'k1', algorithm: 'ES256', privateKey: 'PEM' }]
  // @ts-expect-error an entry needs its algorithm
  const noAlg: KeyEntry = { kid: 'k1', publicKey: 'PEM' }
  void noAlg
  const keyed: KeycardOptions = { keys: entries, signingKid: 'k1' }
  const remote: KeycardOptions = { jwks: new URL('https://a.example/jwks.json'), jwksOptions: { cooldown: '30s', maxStale: 3600 } }
  void [keyed, remote]
  // @ts-expect-error not a duration
  await createKeycard({ jwks: 'https://a.example/jwks.json', jwksOptions: { timeout: '5 seconds' } })
  expectType<Equals<Parameters<Keycard['setKeys']>, [keys: readonly KeyEntry[], signingKid?: string]>>()
  expectType<Equals<ReturnType<Keycard['removeKey']>, boolean>>()
  expectType<Equals<ReturnType<Keycard['jwks']>, { keys: JWK[] }>>()
  expectType<
    Equals<
      Algorithm,
      'HS256' | 'HS384' | 'HS512' | 'RS256' | 'RS384' | 'RS512' | 'PS256' | 'PS384' | 'PS512' | 'ES256' | 'ES384' | 'ES512' | 'EdDSA'
    >
  >()
}

// ---- error codes are a closed union ---------------------------------------------------------------

function errorTypes(err: KeycardError): KeycardErrorCode {
  expectType<Equals<typeof err.code, KeycardErrorCode>>()
  expectType<Equals<string extends KeycardErrorCode ? true : false, false>>()
  const code: KeycardErrorCode = 'KEYCARD_JWT_EXPIRED'
  // @ts-expect-error not a keycard error code
  const bogus: KeycardErrorCode = 'KEYCARD_SOMETHING_ELSE'
  void bogus
  if (err instanceof ExpiredSignatureError) {
    expectType<Equals<typeof err.status, 401>>()
    expectType<Equals<typeof err.kind, 'expired'>>()
  }
  switch (err.code) {
    case 'KEYCARD_JWT_EXPIRED':
    case 'KEYCARD_OPTION_INVALID':
      return code
    // @ts-expect-error a switch over the union cannot name an unknown code
    case 'KEYCARD_TYPO':
      return code
    default:
      return err.code
  }
}

// ---- switch (err.code) narrows to the class ------------------------------------------------------

function narrowing(err: AnyKeycardError): string {
  switch (err.code) {
    case 'KEYCARD_JWT_EXPIRED':
      expectType<Equals<typeof err, ExpiredSignatureError>>()
      expectType<Equals<typeof err.status, 401>>()
      return err.claims?.sub ?? ''
    case 'KEYCARD_OPTION_INVALID':
      expectType<Equals<typeof err, KeycardOptionError>>()
      return err.option
    case 'KEYCARD_INVALID_QUERY_PARAM':
      expectType<Equals<typeof err, InvalidQueryParamError>>()
      return err.kind
    case 'KEYCARD_JWT_SIGNATURE_INVALID':
      expectType<Equals<typeof err, JWTDecodeError<'KEYCARD_JWT_SIGNATURE_INVALID'>>>()
      expectType<Equals<typeof err.status, 422>>()
      return err.claim ?? ''
    case 'KEYCARD_JWT_KID_UNKNOWN':
      expectType<Equals<typeof err, JWTDecodeError<'KEYCARD_JWT_KID_UNKNOWN'>>>()
      return err.message
    case 'KEYCARD_JWKS_UNAVAILABLE':
      expectType<Equals<typeof err, JwksUnavailableError>>()
      expectType<Equals<typeof err.status, 503>>()
      return `${err.url} ${err.reason} ${err.retryAfter}`
    case 'KEYCARD_NO_CONTEXT':
      expectType<Equals<typeof err, KeycardError<'KEYCARD_NO_CONTEXT'>>>()
      // @ts-expect-error a plain KeycardError has no status
      return String(err.status)
    case 'KEYCARD_JWT_MALFORMED':
      // The cookie helpers throw a plain KeycardError with this code too: the union says so.
      expectType<Equals<typeof err, JWTDecodeError<'KEYCARD_JWT_MALFORMED'> | KeycardError<'KEYCARD_JWT_MALFORMED'>>>()
      return err.message
    // @ts-expect-error an impossible code is a type error
    case 'KEYCARD_JWT_EXPIRD':
      return ''
    default:
      return err.message
  }
}

function guards(err: unknown): void {
  // The union covers every code, and only keycard's codes.
  expectType<Equals<AnyKeycardError['code'], KeycardErrorCode>>()
  expectType<Equals<AnyTokenError extends TokenError ? true : false, true>>()
  if (isTokenError(err)) {
    expectType<Equals<typeof err, AnyTokenError>>()
    if (err.code === 'KEYCARD_FRESH_TOKEN_REQUIRED') expectType<Equals<typeof err.kind, 'needsFresh'>>()
    // @ts-expect-error a token error is never an option error
    if (err.code === 'KEYCARD_OPTION_INVALID') void err
  }
  if (isKeycardError(err) && err.code === 'KEYCARD_IDENTITY_INVALID') expectType<Equals<typeof err.code, 'KEYCARD_IDENTITY_INVALID'>>()
  // A code literal per class instance, inferred where it is made.
  expectType<Equals<JWTDecodeError<'KEYCARD_JWT_TOO_LARGE'>['code'], 'KEYCARD_JWT_TOO_LARGE'>>()
  expectType<Equals<ExpiredSignatureError['code'], 'KEYCARD_JWT_EXPIRED'>>()
}

void typedUser
void claimTypes
void optionTypes
void errorTypes
void narrowing
void guards

// ---- runtime ---------------------------------------------------------------------------------------

test('the adapters hand back the context the types describe', async () => {
  const kc = await createKeycard<User>({ secret: SECRET, userLookup: (_h, claims) => ({ id: claims.sub!, roles: ['admin'] }) })
  const token = await kc.createAccessToken('u1')
  const ctx = await kc.verifyJwtInRequest({ method: 'GET', header: (n) => (n === 'authorization' ? `Bearer ${token}` : undefined) })
  assert.ok(ctx)
  const fromFastify = fastifyKeycard(kc).context({ jwt: ctx } as unknown as FastifyRequest)
  const fromExpress = expressKeycard(kc).context({ jwt: ctx } as unknown as ExpressRequest)
  assert.deepEqual(fromFastify.user, { id: 'u1', roles: ['admin'] })
  assert.equal(fromExpress.user.roles[0], 'admin')
  assert.equal(fromFastify.identity, 'u1')
  assert.throws(() => fastifyKeycard(kc).context({ jwt: null } as unknown as FastifyRequest), {
    name: 'KeycardError',
    code: 'KEYCARD_NO_CONTEXT',
  })
})
