/**
 * The application/json body parser: Fastify's own (secure-json-parse, prototype-poisoning checks,
 * the same empty-body and malformed-JSON errors, the same body limit) behind a UTF-8 decoder that
 * notices bad bytes. Fastify decodes bodies with replacement characters, so a password sent in
 * Latin-1 would silently become another password holding U+FFFD; here a string that is not valid
 * UTF-8, or that holds a lone surrogate (`"\ud800"` in JSON), is a 400 naming its field.
 *
 * Linear: one decoding pass (native unless the bytes are bad), one JSON.parse, and, only when a bad
 * byte or a `\uD8xx`-`\uDFxx` escape was seen, one walk over the parsed value.
 */

import type { FastifyInstance, FastifyRequest } from 'fastify'
import { HttpError } from './http-errors.ts'
import { decodeUtf8 } from './utf8.ts'

const LONE_SURROGATE = /\p{Cs}/u
/** A JSON escape of a surrogate: the only way valid UTF-8 text can put a lone one into a string. */
const SURROGATE_ESCAPE = /\\u[dD][89a-fA-F]/

/**
 * The first place in a parsed body holding a lone surrogate: `'field'` (a top-level field, or inside
 * one), `'key'` (a field name) or `'body'` (the body is not an object); null when there is none.
 * Iterative, so a deeply nested body cannot overflow the stack.
 */
function firstIllFormed(value: unknown): { where: 'field'; field: string } | { where: 'key' | 'body' } | null {
  const top = value !== null && typeof value === 'object' && !Array.isArray(value) ? (value as Record<string, unknown>) : undefined
  if (!top) return containsIllFormed(value) ? { where: 'body' } : null
  for (const [key, inner] of Object.entries(top)) {
    if (LONE_SURROGATE.test(key)) return { where: 'key' }
    if (containsIllFormed(inner)) return { where: 'field', field: key }
  }
  return null
}

function containsIllFormed(value: unknown): boolean {
  const stack: unknown[] = [value]
  while (stack.length > 0) {
    const v = stack.pop()
    if (typeof v === 'string') {
      if (LONE_SURROGATE.test(v)) return true
    } else if (Array.isArray(v)) {
      for (const item of v) stack.push(item)
    } else if (v !== null && typeof v === 'object') {
      for (const [key, inner] of Object.entries(v)) {
        if (LONE_SURROGATE.test(key)) return true
        stack.push(inner)
      }
    }
  }
  return false
}

/** The 400 for a body whose text is not valid Unicode, naming the field when it can. */
function illFormedError(found: NonNullable<ReturnType<typeof firstIllFormed>>): HttpError {
  const rule = 'must be valid UTF-8 text (it holds invalid bytes or a lone surrogate)'
  if (found.where === 'field') {
    const named = /^[\w.-]{1,64}$/.test(found.field)
    return new HttpError(
      400,
      `${named ? found.field : 'A field of the request body'} ${rule}`,
      'INVALID_FIELD',
      named ? found.field : undefined,
    )
  }
  if (found.where === 'key') return new HttpError(400, `The request body's field names ${rule}`, 'INVALID_FIELD')
  return new HttpError(400, `Request body ${rule}`, 'MALFORMED_JSON')
}

/**
 * Replaces Fastify's application/json parser with one that refuses text that is not valid UTF-8.
 * Call once, before the routes.
 *
 * @example
 * const app = Fastify({ bodyLimit: 64 * 1024 })
 * installJsonBodyParser(app)
 */
export function installJsonBodyParser(app: FastifyInstance): void {
  // 'error' for both, as Fastify's own defaults: a body with __proto__ or constructor.prototype is a 400.
  const parseJson = app.getDefaultJsonParser('error', 'error')
  app.removeContentTypeParser('application/json')
  app.addContentTypeParser('application/json', { parseAs: 'buffer' }, (request: FastifyRequest, body: Buffer | string, done) => {
    const { text, valid } = typeof body === 'string' ? { text: body, valid: true } : decodeUtf8(body)
    parseJson(request, text, (err, parsed) => {
      // Bad bytes outside any string break the JSON itself: say why, rather than "Malformed JSON".
      if (err)
        return done(
          valid ? err : new HttpError(400, 'Request body must be valid UTF-8 text (it holds invalid bytes)', 'MALFORMED_JSON'),
          undefined,
        )
      // Only a bad byte or a surrogate escape can leave a lone surrogate: skip the walk otherwise.
      const found = !valid || SURROGATE_ESCAPE.test(text) ? firstIllFormed(parsed) : null
      if (found) return done(illFormedError(found), undefined)
      done(null, parsed)
    })
  })
}
