/**
 * Every error answers `{"msg": …}`: our own HttpErrors, Fastify's body errors (413, 415, malformed
 * JSON), unknown routes (404) and anything unexpected (500, logged, with a fixed message: never a stack
 * trace or an internal message in a response). Also the small body readers that name the bad field.
 */

import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'

/** An error with the status and message the client gets. */
export class HttpError extends Error {
  readonly status: number
  constructor(status: number, message: string) {
    super(message)
    this.name = 'HttpError'
    this.status = status
  }
}

/** Fastify's own client errors, by code, with the message we answer instead of theirs. */
const FASTIFY_ERRORS: Record<string, (err: FastifyError, limit: number) => [number, string]> = {
  FST_ERR_CTP_BODY_TOO_LARGE: (_e, limit) => [413, `Request body is too large (limit ${limit} bytes)`],
  FST_ERR_CTP_INVALID_MEDIA_TYPE: () => [415, 'Unsupported Content-Type: send application/json'],
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: () => [400, 'Content-Length does not match the request body'],
  FST_ERR_CTP_EMPTY_JSON_BODY: () => [400, 'Request body is empty but Content-Type is application/json'],
  FST_ERR_CTP_INVALID_JSON_BODY: () => [400, 'Malformed JSON in request body'],
}

/** Installs the error and not-found handlers on `app`. */
export function installErrorHandlers(app: FastifyInstance, bodyLimit: number): void {
  app.setNotFoundHandler((_request: FastifyRequest, reply: FastifyReply) => {
    return reply.code(404).send({ msg: 'Not Found' })
  })

  app.setErrorHandler((error: FastifyError, request: FastifyRequest, reply: FastifyReply) => {
    if (error instanceof HttpError) return reply.code(error.status).send({ msg: error.message })
    const known = error.code ? FASTIFY_ERRORS[error.code] : undefined
    if (known) {
      const [status, msg] = known(error, bodyLimit)
      return reply.code(status).send({ msg })
    }
    // JSON.parse failures and prototype-poisoning rejections from the body parser.
    if (error instanceof SyntaxError || error.statusCode === 400) return reply.code(400).send({ msg: error instanceof SyntaxError ? 'Malformed JSON in request body' : 'Bad Request' })
    const status = typeof error.statusCode === 'number' && error.statusCode >= 400 && error.statusCode < 500 ? error.statusCode : 500
    if (status === 500) request.log.error({ err: error }, 'request failed')
    return reply.code(status).send({ msg: status === 500 ? 'Internal Server Error' : 'Bad Request' })
  })
}

type Body = Record<string, unknown>

/** The body as a JSON object, or a 400. */
export function objectBody(body: unknown): Body {
  if (body === null || typeof body !== 'object' || Array.isArray(body)) throw new HttpError(400, 'Request body must be a JSON object')
  return body as Body
}

/** A required string field, or a 400 naming it. */
export function requiredString(body: Body, field: string): string {
  const value = body[field]
  if (value === undefined || value === null) throw new HttpError(400, `Missing field: ${field}`)
  if (typeof value !== 'string') throw new HttpError(400, `Field ${field} must be a string`)
  if (value.length === 0) throw new HttpError(400, `Missing field: ${field}`)
  return value
}

/** An optional string field (absent or null → undefined), or a 400 naming it. */
export function optionalString(body: Body, field: string): string | undefined {
  const value = body[field]
  if (value === undefined || value === null) return undefined
  if (typeof value !== 'string') throw new HttpError(400, `Field ${field} must be a string`)
  return value
}
