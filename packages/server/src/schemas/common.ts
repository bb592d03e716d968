/**
 * The pieces every route's OpenAPI description is built from: the `{msg, code, field?}` error body with
 * the codes a status can carry, the response headers (Retry-After, Set-Cookie), and the security
 * requirements (bearer token, or cookie + CSRF header). Plain JSON Schema (2020-12, OpenAPI 3.1), so the
 * same objects drive @fastify/swagger's document and fast-json-stringify's serializers.
 */

/**
 * keycard's token errors by status (TOKEN_ERROR_RESPONSES in http-errors.ts: FJE's statuses).
 *
 * @example
 * errorResponse(401, TOKEN_401) // the 401 of a guarded route
 */
export const TOKEN_401 = [
  'KEYCARD_NO_AUTHORIZATION',
  'KEYCARD_CSRF',
  'KEYCARD_JWT_EXPIRED',
  'KEYCARD_FRESH_TOKEN_REQUIRED',
  'KEYCARD_TOKEN_REVOKED',
  'KEYCARD_USER_LOOKUP_FAILED',
  // Only with ACCEPT_FLASK_TOKENS_UNTIL (flask-tokens.ts): a Flask token after the date, or naming no user.
  'FLASK_TOKENS_ENDED',
  'FLASK_TOKEN_USER_UNKNOWN',
] as const
/**
 * The 422 ones (`invalid`: a malformed token, a bad signature or claim, the wrong type).
 *
 * @example
 * errorResponse(422, TOKEN_422)
 */
export const TOKEN_422 = [
  'KEYCARD_INVALID_HEADER',
  'KEYCARD_INVALID_QUERY_PARAM',
  'KEYCARD_JWT_MALFORMED',
  'KEYCARD_JWT_TOO_LARGE',
  'KEYCARD_JWT_ALG_NOT_ALLOWED',
  'KEYCARD_JWT_KID_MISSING',
  'KEYCARD_JWT_KID_UNKNOWN',
  'KEYCARD_JWT_SIGNATURE_INVALID',
  'KEYCARD_JWT_NOT_YET_VALID',
  'KEYCARD_JWT_CLAIM_INVALID',
  'KEYCARD_WRONG_TOKEN_TYPE',
] as const

/**
 * What any JSON body can be refused for before a handler reads it (body.ts, http-errors.ts).
 *
 * @example
 * errors({ 400: BODY_400 })
 */
export const BODY_400 = ['MALFORMED_JSON', 'EMPTY_BODY', 'BAD_CONTENT_LENGTH', 'BAD_REQUEST'] as const
/**
 * What a handler's field checks add (objectBody, requiredString, optionalString).
 *
 * @example
 * errors({ 400: FIELD_400 }) // a route that reads body fields
 */
export const FIELD_400 = ['BODY_NOT_OBJECT', 'MISSING_FIELD', 'INVALID_FIELD'] as const

/**
 * The error body with `code` limited to `codes` (fast-json-stringify ignores `enum`: documentation and
 * the tests' response checks only).
 *
 * @example
 * errorBody(['USER_EXISTS']) // { type: 'object', properties: { msg, code: { enum: ['USER_EXISTS'] }, field }, … }
 */
export function errorBody(codes: readonly string[]) {
  return {
    type: 'object',
    properties: {
      msg: { type: 'string', description: 'For people; may be reworded. Decide on `code`.' },
      code: { type: 'string', enum: [...codes] },
      field: { type: 'string', description: 'The request field to blame, when there is one.' },
    },
    required: ['msg', 'code'],
    additionalProperties: false,
  } as const
}

const RETRY_AFTER = { 'Retry-After': { type: 'integer', description: 'Seconds to wait before retrying.' } } as const
const SET_COOKIE = { 'Set-Cookie': { type: 'string', description: 'Cookie mode: the token and CSRF cookies (set or unset).' } } as const

/** Statuses whose answers always carry Retry-After. */
const WITH_RETRY_AFTER = new Set([429, 503])

/** The default description of each error status. */
const DESCRIPTIONS: Readonly<Record<number, string>> = {
  400: 'Bad request: the body, a field, a query parameter or a header is wrong (`field` names it when it can).',
  401: 'No valid token, bad credentials, or a CSRF check failed.',
  403: 'Forbidden.',
  404: 'Not found.',
  409: 'Conflict.',
  413: 'The request body is over the limit.',
  414: 'A path segment is over 100 characters.',
  415: 'The body is not application/json.',
  422: 'The token is malformed, has a bad signature or claims, or is of the wrong type.',
  429: 'Too many attempts: wait Retry-After seconds.',
  500: 'Unexpected failure (logged; the message is fixed).',
  503: 'Temporarily unavailable (database, revocation view or signing key): retry after Retry-After seconds.',
}

/**
 * One error response: its description, the error body with these codes, and Retry-After when the status has it
 * (429 and 503, unless `retryAfter` is false).
 *
 * @example
 * errorResponse(404, ['USER_NOT_FOUND']) // { description: 'Not found. Codes: USER_NOT_FOUND.', type: 'object', … }
 */
export function errorResponse(
  status: number,
  codes: readonly string[],
  description = DESCRIPTIONS[status] ?? 'Error.',
  retryAfter = WITH_RETRY_AFTER.has(status),
) {
  return {
    description: `${description} Codes: ${codes.join(', ')}.`,
    ...errorBody(codes),
    ...(retryAfter ? { headers: RETRY_AFTER } : {}),
  }
}

/**
 * The codes each error status of a route can carry.
 *
 * @example
 * const SIGN_IN: ErrorCodes = { 429: ['TOO_MANY_ATTEMPTS'] }
 */
export type ErrorCodes = Readonly<Partial<Record<number, readonly string[]>>>

/**
 * Error responses for a route, merged per status (a status listed twice gets both lists of codes).
 *
 * @example
 * errors({ 400: BODY_400 }, { 409: ['USER_EXISTS'] }) // { 400: {...}, 409: {...}, 500: {...} }
 */
export function errors(...lists: ErrorCodes[]) {
  const merged = new Map<number, Set<string>>([[500, new Set(['INTERNAL_ERROR'])]])
  for (const list of lists)
    for (const [status, codes] of Object.entries(list)) {
      const set = merged.get(Number(status)) ?? new Set<string>()
      for (const code of codes ?? []) set.add(code)
      merged.set(Number(status), set)
    }
  return Object.fromEntries([...merged].sort(([a], [b]) => a - b).map(([status, codes]) => [status, errorResponse(status, [...codes])]))
}

/**
 * A JSON body route's errors before its handler: parsing, size, media type.
 *
 * @example
 * response: { 200: ok('Done.', message()), ...errors(JSON_BODY, DATABASE) }
 */
export const JSON_BODY: ErrorCodes = { 400: BODY_400, 413: ['BODY_TOO_LARGE'], 415: ['UNSUPPORTED_MEDIA_TYPE'] }
/**
 * Every route that reads the database.
 *
 * @example
 * ...errors(DATABASE) // 503 DATABASE_UNAVAILABLE or DATABASE_BUSY, with Retry-After
 */
export const DATABASE: ErrorCodes = { 503: ['DATABASE_UNAVAILABLE', 'DATABASE_BUSY'] }
/**
 * A route behind a token guard (services.ts `guards`): token errors, and 503 while the revocation view is stale.
 *
 * @example
 * ...errors(TOKEN_GUARD, DATABASE) // GET /auth/me
 */
export const TOKEN_GUARD: ErrorCodes = {
  400: ['KEYCARD_CLAIMS_VERIFICATION_FAILED'],
  401: TOKEN_401,
  422: TOKEN_422,
  503: ['REVOCATION_VIEW_STALE'],
}
/**
 * A route with a path parameter: the router refuses a bad percent-encoding or a segment over 100 characters.
 *
 * @example
 * errors(PATH_PARAM) // { 400: {… BAD_URL …}, 414: {… PATH_TOO_LONG …}, 500: {…} }
 */
export const PATH_PARAM: ErrorCodes = { 400: ['BAD_URL'], 414: ['PATH_TOO_LONG'] }
/**
 * Admin routes: an access token of a user who is not an admin (now, in the database).
 *
 * @example
 * ...errors(TOKEN_GUARD, ADMIN) // 403 ADMIN_REQUIRED
 */
export const ADMIN: ErrorCodes = { 403: ['ADMIN_REQUIRED'] }

/**
 * A success response's body with a description, and Set-Cookie when cookie mode may set or unset cookies.
 *
 * @example
 * response: { 200: ok('The user.', PUBLIC_USER, { cookies: true }) }
 */
export function ok<S extends object>(description: string, schema: S, options: { cookies?: boolean } = {}) {
  return { description, ...schema, ...(options.cookies ? { headers: SET_COOKIE } : {}) }
}

/**
 * Names of the security schemes (openapi.ts defines them from keycard's cookie options).
 *
 * @example
 * security: [{ [SECURITY.bearer]: [] }]
 */
export const SECURITY = {
  bearer: 'bearerAuth',
  accessCookie: 'accessCookie',
  refreshCookie: 'refreshCookie',
  csrf: 'csrfHeader',
  metrics: 'metricsToken',
} as const

/**
 * One way to authenticate: every scheme it names at once (an OpenAPI Security Requirement).
 *
 * @example
 * const bearerOnly: SecurityRequirement[] = [{ [SECURITY.bearer]: [] }]
 */
export type SecurityRequirement = Readonly<Record<string, readonly string[]>>

/**
 * An access token: `Authorization: Bearer`, or the access cookie (+ X-CSRF-TOKEN on POST/PUT/PATCH/DELETE).
 *
 * @example
 * { summary: 'Sign out everywhere', security: ACCESS_SECURITY }
 */
export const ACCESS_SECURITY: readonly SecurityRequirement[] = [
  { [SECURITY.bearer]: [] },
  { [SECURITY.accessCookie]: [], [SECURITY.csrf]: [] },
]
/**
 * The same for a GET: no CSRF header needed (keycard checks it only on unsafe methods).
 *
 * @example
 * { summary: 'The signed-in user', security: ACCESS_SECURITY_GET }
 */
export const ACCESS_SECURITY_GET: readonly SecurityRequirement[] = [{ [SECURITY.bearer]: [] }, { [SECURITY.accessCookie]: [] }]
/**
 * POST /auth/refresh: the refresh token as a bearer, or the refresh cookie + its CSRF value.
 *
 * @example
 * { summary: 'Rotate the refresh token', security: REFRESH_SECURITY }
 */
export const REFRESH_SECURITY: readonly SecurityRequirement[] = [
  { [SECURITY.bearer]: [] },
  { [SECURITY.refreshCookie]: [], [SECURITY.csrf]: [] },
]

/**
 * The user shape of api-types.ts `PublicUser`.
 *
 * @example
 * { type: 'array', items: PUBLIC_USER }
 */
export const PUBLIC_USER = {
  type: 'object',
  properties: {
    id: { type: 'integer' },
    username: { type: 'string' },
    email: { type: ['string', 'null'] },
    admin: { type: 'boolean' },
    registered_on: { type: 'string', format: 'date-time' },
  },
  required: ['id', 'username', 'email', 'admin', 'registered_on'],
  additionalProperties: false,
} as const

/**
 * `{msg}`, and `revoked_sessions` when `revoked` (api-types.ts `RevokedSessions`).
 *
 * @example
 * ok('Signed out everywhere.', message(true)) // {msg, revoked_sessions}
 */
export function message(revoked = false) {
  return {
    type: 'object',
    properties: { msg: { type: 'string' }, ...(revoked ? { revoked_sessions: { type: 'integer' } } : {}) },
    required: revoked ? ['msg', 'revoked_sessions'] : ['msg'],
    additionalProperties: false,
  } as const
}
