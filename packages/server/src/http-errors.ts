/**
 * Every error answers `{"msg": …, "code": …}`: our own HttpErrors, Fastify's body errors (413, 415,
 * malformed JSON), unknown routes (404), keycard's token errors (`code` is keycard's `KEYCARD_*`, `msg`
 * stays Flask-JWT-Extended's) and anything unexpected (500, logged, with a fixed message: never a stack
 * trace or an internal message in a response). Clients decide on `code`; `msg` is for people and may be
 * reworded. Also the small body readers that name the bad field.
 */

import type { Socket } from 'node:net'
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

/** Node's limit on a request's headers (request line included), which its HTTP parser enforces. */
const MAX_HEADER_BYTES = 16 * 1024

/** What a request Node's HTTP parser refused gets, by Node's error code: [status, reason phrase, msg, code]. */
function clientErrorAnswer(code: string | undefined): [number, string, string, ServerErrorCode] {
  if (code === 'HPE_HEADER_OVERFLOW')
    return [
      431,
      'Request Header Fields Too Large',
      `Request headers are too large (limit ${MAX_HEADER_BYTES} bytes in all, URL included)`,
      'HEADERS_TOO_LARGE',
    ]
  if (code === 'ERR_HTTP_REQUEST_TIMEOUT') return [408, 'Request Timeout', 'The request took too long to arrive', 'REQUEST_TIMEOUT']
  return [400, 'Bad Request', 'Malformed HTTP request', 'BAD_REQUEST']
}

/**
 * Fastify's `clientErrorHandler`: requests Node's HTTP parser refuses before Fastify sees them (headers
 * or URL over 16 KiB, a malformed request line, a timeout) get `{"msg", "code"}` like every other
 * error, instead of Fastify's default `{"error", "message", "statusCode"}`. The socket is then closed,
 * as Node does: the parser cannot go on after such a request.
 *
 * @example
 * ```ts
 * const app = Fastify({ clientErrorHandler }) // a 20 KiB URL → 431 {"msg": "Request headers are too large (…)", "code": "HEADERS_TOO_LARGE"}
 * ```
 */
export function clientErrorHandler(error: Error & { code?: string }, socket: Socket): void {
  // A reset connection has nobody to answer.
  if (error.code === 'ECONNRESET' || socket.destroyed) return
  const [status, reason, msg, code] = clientErrorAnswer(error.code)
  const body = JSON.stringify({ msg, code })
  if (socket.writable) {
    socket.write(
      `HTTP/1.1 ${status} ${reason}\r\nContent-Length: ${Buffer.byteLength(body)}\r\nContent-Type: application/json; charset=utf-8\r\n` +
        `X-Content-Type-Options: nosniff\r\nCache-Control: no-store\r\nConnection: close\r\n\r\n${body}`,
    )
  }
  socket.destroy(error)
}

/** Longest path parameter Fastify's router takes (its `maxParamLength` default). */
const MAX_PARAM_LENGTH = 100

/**
 * Fastify's `frameworkErrors`: a URL its router refuses (a bad percent-encoding, a path segment over
 * 100 characters) gets `{"msg", "code"}` naming the problem, instead of Fastify's default body, which
 * also echoes the whole path. Runs before any hook, so the headers every response carries are set here.
 *
 * @example
 * ```ts
 * const app = Fastify({ frameworkErrors }) // DELETE /auth/tokens/<200 chars> → 414 {"msg": "A path segment is too long (…)", "code": "PATH_TOO_LONG"}
 * ```
 */
export function frameworkErrors(error: FastifyError, _request: FastifyRequest, reply: FastifyReply): void {
  reply.header('x-content-type-options', 'nosniff').header('cache-control', 'no-store')
  if (error.code === 'FST_ERR_MAX_PARAM_LENGTH')
    reply.code(414).send({ msg: `A path segment is too long (limit ${MAX_PARAM_LENGTH} characters)`, code: 'PATH_TOO_LONG' })
  else if (error.code === 'FST_ERR_BAD_URL')
    reply.code(400).send({ msg: 'Malformed URL: a % is not followed by two hex digits of UTF-8', code: 'BAD_URL' })
  else reply.code(400).send({ msg: 'Bad Request', code: 'BAD_REQUEST' })
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
