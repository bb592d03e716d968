/**
 * The request hook behind `keycard_http_requests_total` and `keycard_http_request_duration_seconds`,
 * and the login, refresh and throttle counters that a route's status decides. The route label is the
 * route's template (`/auth/tokens/:id`), never the raw URL, so label values stay bounded; a request no
 * route matched counts as `unmatched`. Labels are bound once per route and status (prom-client
 * children, cached), so a response costs one Map lookup, one increment and one observation: the hot
 * path /auth/verify runs for every request of the protected apps.
 */

import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import type { Counter, Histogram } from 'prom-client'
import type { ServerMetrics } from './metrics.ts'

declare module 'fastify' {
  interface FastifyRequest {
    /** Set by a route whose outcome the status does not tell (a refresh token's reuse): the outcome label to count. */
    keycardOutcome: string
  }
}

/** The route label of requests no route matched (404s of any URL). */
export const UNMATCHED_ROUTE = 'unmatched'

type Family = 'login' | 'refresh'
/** Routes whose responses also count as logins or refreshes. */
const FAMILIES: Readonly<Record<string, Family>> = { '/auth/login': 'login', '/auth/fresh-login': 'login', '/auth/refresh': 'refresh' }
/** Routes the throttle guards, and the kind its 429s count as. */
const THROTTLED: Readonly<Record<string, string>> = {
  '/auth/login': 'login',
  '/auth/fresh-login': 'login',
  '/auth/register': 'register',
  '/auth/password': 'password',
}

/**
 * A login's or refresh's outcome from its status, when the route did not name it.
 *
 * @example
 * outcomeOf('login', 401) // 'bad_credentials'
 */
export function outcomeOf(family: Family, status: number): string {
  if (status < 300) return 'success'
  if (status === 401) return family === 'login' ? 'bad_credentials' : 'invalid_token'
  if (status === 422) return 'invalid_token' // FJE's status for a malformed token (refresh)
  if (status === 429) return 'throttled'
  if (status === 503) return 'unavailable'
  if (status < 500) return 'invalid_request'
  return 'error'
}

interface Bound {
  requests: Counter.Internal
  duration: Histogram.Internal<'method' | 'route' | 'status'>
}

/** One method and route's bound children, by status code. */
class RouteSeries {
  readonly #byStatus = new Map<number, Bound>()
  readonly #metrics: ServerMetrics
  readonly #method: string
  readonly #route: string
  readonly family: Family | undefined
  readonly throttleKind: string | undefined

  constructor(metrics: ServerMetrics, method: string, route: string) {
    this.#metrics = metrics
    this.#method = method
    this.#route = route
    this.family = FAMILIES[route]
    this.throttleKind = THROTTLED[route]
  }

  observe(status: number, seconds: number): void {
    let bound = this.#byStatus.get(status)
    if (bound === undefined) {
      const labels = [this.#method, this.#route, String(status)]
      bound = { requests: this.#metrics.requests.labels(...labels), duration: this.#metrics.duration.labels(...labels) }
      this.#byStatus.set(status, bound)
    }
    bound.requests.inc()
    bound.duration.observe(seconds)
  }
}

/**
 * Installs the onResponse hook (and the `request.keycardOutcome` slot routes set). Call before the
 * routes are registered.
 *
 * @example
 * installRequestMetrics(app, metrics)
 * registerAuthRoutes(app, services)
 */
export function installRequestMetrics(app: FastifyInstance, metrics: ServerMetrics): void {
  app.decorateRequest('keycardOutcome', '')
  // Per method and route template; unmatched requests (any URL) share one series per method.
  const series = new Map<string, RouteSeries>()
  const seriesOf = (method: string, route: string): RouteSeries => {
    const key = `${method} ${route}`
    let found = series.get(key)
    if (found === undefined) {
      found = new RouteSeries(metrics, method, route)
      series.set(key, found)
    }
    return found
  }
  app.addHook('onResponse', (request: FastifyRequest, reply: FastifyReply, done) => {
    const route = request.routeOptions.url
    // An unknown method would otherwise be a label value of the client's choosing.
    const method = route === undefined ? 'other' : request.method
    const s = seriesOf(method, route ?? UNMATCHED_ROUTE)
    const status = reply.statusCode
    s.observe(status, reply.elapsedTime / 1000)
    if (s.family !== undefined) {
      const outcome = request.keycardOutcome || outcomeOf(s.family, status)
      ;(s.family === 'login' ? metrics.logins : metrics.refreshes).labels(outcome).inc()
    }
    if (status === 429 && s.throttleKind !== undefined) metrics.throttled.labels(s.throttleKind).inc()
    done()
  })
}
