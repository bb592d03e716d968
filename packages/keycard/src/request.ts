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

/**
 * Node keeps only the first of repeated `Authorization` (and a few other) headers in `req.headers`;
 * whether there were more is in `rawHeaders`. Stops at the second, and compares names without
 * allocating (this runs on every request): `name` is lower case, the client's spelling may not be.
 */
function repeated(raw: readonly string[], name: string): boolean {
  let seen = 0
  for (let i = 0; i < raw.length; i += 2) {
    if (sameName(raw[i]!, name) && ++seen > 1) return true
  }
  return false
}

/** `key` equals the lower-case `name` ignoring ASCII case. */
function sameName(key: string, name: string): boolean {
  if (key.length !== name.length) return false
  for (let i = 0; i < name.length; i++) {
    const c = key.charCodeAt(i)
    const n = name.charCodeAt(i)
    if (c !== n && !(c >= 65 && c <= 90 && c + 32 === n)) return false
  }
  return true
}

/** Cookies of a `Cookie` header (RFC 6265 §5.4); the first of a repeated name wins, quotes are removed. */
export function parseCookieHeader(header: string | undefined): Map<string, string> {
  const cookies = new Map<string, string>()
  if (!header) return cookies
  for (const pair of header.split(';')) {
    const eq = pair.indexOf('=')
    if (eq === -1) continue
    const name = pair.slice(0, eq).trim()
    let value = pair.slice(eq + 1).trim()
    if (value.length >= 2 && value.startsWith('"') && value.endsWith('"')) value = value.slice(1, -1)
    if (name && !cookies.has(name)) cookies.set(name, value)
  }
  return cookies
}

/** A view over node's `IncomingMessage`, shared by the Fastify and Express adapters. Cookies and the query string are parsed only when a location asks. */
export class NodeRequestView implements RequestView {
  readonly method: string
  readonly #req: IncomingMessage
  readonly body: unknown
  #cookies: Map<string, string> | undefined
  #query: URLSearchParams | undefined
  constructor(req: IncomingMessage, body?: unknown) {
    this.#req = req
    this.method = req.method ?? 'GET'
    this.body = body
  }

  cookie(name: string): string | undefined {
    this.#cookies ??= parseCookieHeader(this.#req.headers.cookie)
    return this.#cookies.get(name)
  }

  query(name: string): string | undefined {
    if (this.#query === undefined) {
      const url = this.#req.url ?? ''
      const q = url.indexOf('?')
      this.#query = new URLSearchParams(q === -1 ? '' : url.slice(q + 1))
    }
    return this.#query.get(name) ?? undefined
  }

  header(name: string): string | readonly string[] | undefined {
    const value = this.#req.headers[name]
    if (value === undefined || Array.isArray(value)) return value
    if (repeated(this.#req.rawHeaders, name)) return this.#req.headersDistinct[name]
    return value
  }
}

/**
 * A view over a Fetch `Request` (Hono's `c.req.raw`, any WinterCG runtime). Fetch joins a repeated
 * header into one "a, b" value; pass node's `rawHeaders` (on `@hono/node-server`: `c.env.incoming`)
 * and a repeated header is an array, as in NodeRequestView; without them, the joined value is parsed
 * as Flask-JWT-Extended parses one (Werkzeug joins them too). Cookies and the query string are parsed
 * only when a location asks, each in one pass.
 *
 * @example
 * const view = new WebRequestView(c.req.raw, undefined, c.env?.incoming?.rawHeaders)
 * const result = keycard.checkRequestResult(view)
 */
export class WebRequestView implements RequestView {
  readonly method: string
  readonly body: unknown
  readonly #request: Request
  readonly #rawHeaders: readonly string[] | undefined
  #cookies: Map<string, string> | undefined
  #query: URLSearchParams | undefined
  constructor(request: Request, body?: unknown, rawHeaders?: readonly string[]) {
    this.#request = request
    this.method = request.method
    this.body = body
    this.#rawHeaders = rawHeaders
  }

  cookie(name: string): string | undefined {
    this.#cookies ??= parseCookieHeader(this.#request.headers.get('cookie') ?? undefined)
    return this.#cookies.get(name)
  }

  query(name: string): string | undefined {
    if (this.#query === undefined) {
      const url = this.#request.url
      const q = url.indexOf('?')
      const hash = url.indexOf('#', q)
      this.#query = new URLSearchParams(q === -1 ? '' : url.slice(q + 1, hash === -1 ? undefined : hash))
    }
    return this.#query.get(name) ?? undefined
  }

  header(name: string): string | readonly string[] | undefined {
    const raw = this.#rawHeaders
    if (raw !== undefined && repeated(raw, name)) {
      const values: string[] = []
      for (let i = 0; i < raw.length; i += 2) if (sameName(raw[i]!, name)) values.push(raw[i + 1]!)
      return values
    }
    return this.#request.headers.get(name) ?? undefined
  }
}
