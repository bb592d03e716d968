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

/** What a protected request knows once its token passed every check. */
export interface JwtContext<User = unknown> {
  header: JwtHeader
  claims: JwtClaims
  /** The identity claim (`sub` unless `identityClaim` says otherwise). */
  identity: string
  /** What `userLookup` returned, or `undefined` when no `userLookup` is configured. */
  user: User
  location: TokenLocation
}
