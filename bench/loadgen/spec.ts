/** What bench/run.ts asks of a load generator, and what it reports back (both generators alike). */

export interface LoadSpec {
  /** Server origin, e.g. http://127.0.0.1:41234 */
  url: string
  path: string
  method: 'GET' | 'POST'
  /** Seconds. */
  duration: number
  connections: number
  /** One token sent on every request (repeated mode, or the fixed credential of a POST). */
  token?: string
  /** A file of tokens, one a line, rotated so each request carries the next one (fresh mode). */
  tokenFile?: string
  /**
   * Single-use tokens (refresh rotation): `tokenFile` seeds a queue, each request takes the next token,
   * each 2xx response's `refresh_token` joins the queue, and the queue is written back to `tokenFile`
   * at the end for the next run. autocannon only.
   */
  chain?: boolean
  /**
   * The lines of `tokenFile` are whole `Authorization` values (`Bearer <token>`, or anything a client
   * might send), not tokens to prefix with `Bearer ` (bench/rejections.ts).
   */
  rawAuthorization?: boolean
  /** JSON body for POST contenders (login, refresh). */
  body?: string
}

export interface LoadResult {
  requests: number
  seconds: number
  rps: number
  /** Responses with a 2xx status (wrk: responses that were not 4xx/5xx). */
  ok2xx: number
  non2xx: number
  /** Connect/read/write errors and timeouts. */
  errors: number
  latencyMs: { p50: number; p90: number; p99: number; max: number }
}
