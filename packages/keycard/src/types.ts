/** Shared shapes of tokens and of the request context. */

/** The JOSE header of a verified token. */
export interface JwtHeader {
  alg: string
  typ?: string
  kid?: string
  [name: string]: unknown
}

/** The claims of a token in Flask-JWT-Extended's layout; extra claims are allowed. */
export interface JwtClaims {
  /** `true`/`false`, or a "fresh until" epoch (seconds, may have a fraction). */
  fresh?: boolean | number
  iat?: number
  jti?: string
  type?: string
  sub?: string
  nbf?: number
  csrf?: string
  aud?: string | string[]
  iss?: string
  exp?: number
  [name: string]: unknown
}

export type TokenType = 'access' | 'refresh'

/** Where a token was found; only `headers` until the cookie/query/json locations land. */
export type TokenLocation = 'headers' | 'cookies' | 'query_string' | 'json'

/**
 * The extension point that types the current user and the custom claims for every adapter at once
 * (as `@fastify/jwt`'s `FastifyJWT`): declare `user` and/or `claims` in your app, and `request.jwt`,
 * `req.jwt`, `c.get('jwt')`, `context()` and `createKeycard()`'s `userLookup` are typed without generics.
 *
 * @example
 * declare module 'keycard' {
 *   interface KeycardTypes {
 *     user: { id: number; name: string }
 *     claims: { roles: string[] }
 *   }
 * }
 */
// biome-ignore lint/suspicious/noEmptyInterface: filled by the app's declaration merging.
export interface KeycardTypes {}

/**
 * `KeycardTypes['user']` when the app declares it, else `unknown`.
 *
 * @example
 * function greet(user: KeycardUser) {} // your declared user type
 */
export type KeycardUser = KeycardTypes extends { user: infer U } ? U : unknown

/**
 * The claims of a verified token: FJE's layout plus `KeycardTypes['claims']` when the app declares it.
 *
 * @example
 * const roles = (req.jwt!.claims satisfies KeycardClaims).roles // typed when KeycardTypes declares claims.roles
 */
export type KeycardClaims = KeycardTypes extends { claims: infer C } ? JwtClaims & C : JwtClaims

/** What a protected request knows once its token passed every check. */
export interface JwtContext<User = KeycardUser> {
  header: JwtHeader
  /** Typed by `KeycardTypes['claims']`; checked by your `tokenVerification`, not by keycard. */
  claims: KeycardClaims
  /** The identity claim (`sub` unless `identityClaim` says otherwise). */
  identity: string
  /** What `userLookup` returned, or `undefined` when no `userLookup` is configured. */
  user: User
  location: TokenLocation
}
