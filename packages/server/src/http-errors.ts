/**
 * Every error answers `{"msg": …, "code": …}`: our own HttpErrors, Fastify's body errors (413, 415,
 * malformed JSON), unknown routes (404), keycard's token errors (`code` is keycard's `KEYCARD_*`, `msg`
 * stays Flask-JWT-Extended's) and anything unexpected (500, logged, with a fixed message: never a stack
 * trace or an internal message in a response). Clients decide on `code`; `msg` is for people and may be
 * reworded. Also the small body readers that name the bad field.
 */

import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import type { ResponseBuilders } from 'keycard'
import type { ErrorBody, ServerErrorCode } from './api-types.ts'

export type { ErrorBody, ServerErrorCode } from './api-types.ts'

/** The code an HttpError gets when its thrower names none. */
const BY_STATUS: Readonly<Record<number, ServerErrorCode>> = {
  401: 'BAD_CREDENTIALS',
  403: 'ADMIN_REQUIRED',
  404: 'NOT_FOUND',
  409: 'USER_EXISTS',
}

/**
 * An error with the status, message and code the client gets.
 *
 * @example
 * ```ts
 * throw new HttpError(404, 'Session not found', 'SESSION_NOT_FOUND')
 * throw new HttpError(400, 'Missing field: email', 'MISSING_FIELD', 'email')
 * ```
 */
export class HttpError extends Error {
  readonly status: number
  readonly code: ServerErrorCode
  /** The request field the error is about, answered as `field`. */
  readonly field: string | undefined
  constructor(status: number, message: string, code: ServerErrorCode = BY_STATUS[status] ?? 'BAD_REQUEST', field?: string) {
    super(message)
    this.name = 'HttpError'
    this.status = status
    this.code = code
    this.field = field
  }

  /** The JSON body answered for this error. */
  body(): ErrorBody {
    return this.field === undefined ? { msg: this.message, code: this.code } : { msg: this.message, code: this.code, field: this.field }
  }
}

/** Fastify's own client errors, by code, with the status, message and code we answer instead of theirs. */
const FASTIFY_ERRORS: Record<string, (err: FastifyError, limit: number) => [number, string, ServerErrorCode]> = {
  FST_ERR_CTP_BODY_TOO_LARGE: (_e, limit) => [413, `Request body is too large (limit ${limit} bytes)`, 'BODY_TOO_LARGE'],
  FST_ERR_CTP_INVALID_MEDIA_TYPE: () => [415, 'Unsupported Content-Type: send application/json', 'UNSUPPORTED_MEDIA_TYPE'],
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: () => [400, 'Content-Length does not match the request body', 'BAD_CONTENT_LENGTH'],
  FST_ERR_CTP_EMPTY_JSON_BODY: () => [400, 'Request body is empty but Content-Type is application/json', 'EMPTY_BODY'],
  FST_ERR_CTP_INVALID_JSON_BODY: () => [400, 'Malformed JSON in request body', 'MALFORMED_JSON'],
}

/**
 * keycard's response builders with the error's `code` added beside `msg`; statuses and messages stay
 * keycard's defaults (Flask-JWT-Extended's), so only the extra field differs from a bare keycard app.
 *
 * @example
 * ```ts
 * const keycard = await createKeycard({ secret, responses: TOKEN_ERROR_RESPONSES })
 * // a missing token → 401 {"msg": "Missing JWT in headers or cookies (…)", "code": "KEYCARD_NO_AUTHORIZATION"}
 * ```
 */
export const TOKEN_ERROR_RESPONSES: ResponseBuilders = {
  unauthorized: (reason, error) => ({ status: 401, body: { msg: reason, code: error.code } }),
  invalid: (reason, error) => ({ status: 422, body: { msg: reason, code: error.code } }),
  expired: (_h, _c, error) => ({ status: 401, body: { msg: error.message, code: error.code } }),
  needsFresh: (_h, _c, error) => ({ status: 401, body: { msg: error.message, code: error.code } }),
  revoked: (_h, _c, error) => ({ status: 401, body: { msg: error.message, code: error.code } }),
  userLookup: (_h, _c, error) => ({ status: 401, body: { msg: error.message, code: error.code } }),
  verificationFailed: (_h, _c, error) => ({ status: 400, body: { msg: error.message, code: error.code } }),
}

/** What an unknown route or a missing asset answers. */
export const NOT_FOUND_BODY: Readonly<ErrorBody> = Object.freeze({ msg: 'Not Found', code: 'NOT_FOUND' })

/**
 * Installs the error and not-found handlers on `app`.
 *
 * @example
 * ```ts
 * installErrorHandlers(app, 64 * 1024) // GET /nope → 404 {"msg": "Not Found", "code": "NOT_FOUND"}
 * ```
 */
export function installErrorHandlers(app: FastifyInstance, bodyLimit: number): void {
  app.setNotFoundHandler((_request: FastifyRequest, reply: FastifyReply) => {
    return reply.code(404).send(NOT_FOUND_BODY)
  })

  app.setErrorHandler((error: FastifyError, request: FastifyRequest, reply: FastifyReply) => {
    if (error instanceof HttpError) return reply.code(error.status).send(error.body())
    const known = error.code ? FASTIFY_ERRORS[error.code] : undefined
    if (known) {
      const [status, msg, code] = known(error, bodyLimit)
      return reply.code(status).send({ msg, code })
    }
    // JSON.parse failures and prototype-poisoning rejections from the body parser.
    if (error instanceof SyntaxError) return reply.code(400).send({ msg: 'Malformed JSON in request body', code: 'MALFORMED_JSON' })
    if (error.statusCode === 400) return reply.code(400).send({ msg: 'Bad Request', code: 'BAD_REQUEST' })
    const status = typeof error.statusCode === 'number' && error.statusCode >= 400 && error.statusCode < 500 ? error.statusCode : 500
    if (status === 500) request.log.error({ err: error }, 'request failed')
    return reply
      .code(status)
      .send(status === 500 ? { msg: 'Internal Server Error', code: 'INTERNAL_ERROR' } : { msg: 'Bad Request', code: 'BAD_REQUEST' })
  })
}

type Body = Record<string, unknown>

/**
 * The body as a JSON object, or a 400.
 *
 * @example
 * ```ts
 * const body = objectBody(request.body) // [] → 400 {"msg": "Request body must be a JSON object", "code": "BODY_NOT_OBJECT"}
 * ```
 */
export function objectBody(body: unknown): Body {
  if (body === null || typeof body !== 'object' || Array.isArray(body))
    throw new HttpError(400, 'Request body must be a JSON object', 'BODY_NOT_OBJECT')
  return body as Body
}

/**
 * A required string field, or a 400 naming it.
 *
 * @example
 * ```ts
 * const username = requiredString(body, 'username') // {} → 400 {"msg": "Missing field: username", "code": "MISSING_FIELD", "field": "username"}
 * ```
 */
export function requiredString(body: Body, field: string): string {
  const value = body[field]
  if (value === undefined || value === null) throw new HttpError(400, `Missing field: ${field}`, 'MISSING_FIELD', field)
  if (typeof value !== 'string') throw new HttpError(400, `Field ${field} must be a string`, 'INVALID_FIELD', field)
  if (value.length === 0) throw new HttpError(400, `Missing field: ${field}`, 'MISSING_FIELD', field)
  return value
}

/**
 * An optional string field (absent or null → undefined), or a 400 naming it.
 *
 * @example
 * ```ts
 * const email = optionalString(body, 'email') // {"email": 1} → 400 {"msg": "Field email must be a string", "code": "INVALID_FIELD", "field": "email"}
 * ```
 */
export function optionalString(body: Body, field: string): string | undefined {
  const value = body[field]
  if (value === undefined || value === null) return undefined
  if (typeof value !== 'string') throw new HttpError(400, `Field ${field} must be a string`, 'INVALID_FIELD', field)
  return value
}
