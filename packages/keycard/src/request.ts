/**
 * `RequestView` is the seam between the framework-free core and an adapter: the few things token
 * lookup reads from a request. Adapters fill it from their own request object; anything else (a
 * WebSocket upgrade, a queue message) can implement it by hand and call `verifyJwtInRequest`.
 */

import type { IncomingMessage } from 'node:http'

export interface RequestView {
  /** Upper-case HTTP method; `OPTIONS` requests are never checked (CORS preflights carry no token). */
  readonly method: string
  /**
   * The value of a header, by lower-case name; an array when the client sent it more than once,
   * so that two `Authorization` headers are an error instead of "take the first".
   */
  header(name: string): string | readonly string[] | undefined
  /** A cookie's value, for the `cookies` location. */
  cookie?(name: string): string | undefined
  /** A query-string parameter, for the `query_string` location. */
  query?(name: string): string | undefined
  /** The parsed body, for the `json` location. */
  readonly body?: unknown
}

/** Node drops repeated `Authorization` (and a few other) headers from `req.headers`; count them in `rawHeaders`. */
function countRaw(raw: readonly string[], name: string): number {
  let n = 0
  for (let i = 0; i < raw.length; i += 2) {
    const key = raw[i]!
    if (key.length === name.length && key.toLowerCase() === name) n++
  }
  return n
}

/** A view over node's `IncomingMessage`, shared by the Fastify and Express adapters. */
export class NodeRequestView implements RequestView {
  readonly method: string
  readonly #req: IncomingMessage
  readonly body: unknown
  constructor(req: IncomingMessage, body?: unknown) {
    this.#req = req
    this.method = req.method ?? 'GET'
    this.body = body
  }

  header(name: string): string | readonly string[] | undefined {
    const value = this.#req.headers[name]
    if (value === undefined || Array.isArray(value)) return value
    if (countRaw(this.#req.rawHeaders, name) > 1) return this.#req.headersDistinct[name]
    return value
  }
}
