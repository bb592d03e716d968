/**
 * `ServerMetrics`: every Prometheus metric of one app instance, on a registry of its own (tests run
 * several servers in one process; prom-client's global default registry would collide). Counters are
 * moved by the request hook (metrics/http.ts) and a few routes; gauges that describe state (argon2
 * queue, revocation-view age, database pool) are read only when Prometheus scrapes, so they cost
 * nothing between scrapes. The names, labels and help texts are listed in packages/server/README.md.
 */

import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client'

/** Why sessions were revoked (`keycard_revocations_total{reason}`). */
export type RevocationReason = 'logout' | 'logout_all' | 'session' | 'password_change' | 'admin_delete_user' | 'reuse_detected'

/** What the scrape-time gauges read; each is optional so the metrics can be built before the services. */
export interface MetricSources {
  /** argon2 operations waiting for a slot, and running. */
  argon2?: () => { queued: number; active: number }
  /** Milliseconds since the revocation view was last confirmed as of. */
  viewAgeMs?: () => number
  /** PostgreSQL pool connections (total, idle, clients waiting), or SQLite write transactions waiting for the one connection. */
  database?: () => { total: number; idle: number; waiting: number } | { writesWaiting: number }
}

/** Latency buckets for HTTP requests, in seconds: /auth/verify answers in well under a millisecond, a login in tens. */
const HTTP_BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10]
/** argon2 hashes take milliseconds (test parameters) to a second (strong production ones). */
const ARGON2_BUCKETS = [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5]
/** Propagation lag: revoked_at has a resolution of one second; the poll runs about every second. */
const LAG_BUCKETS = [0.5, 1, 2, 3, 5, 10, 30, 60]

/**
 * @example
 * const metrics = new ServerMetrics()
 * metrics.logins.labels('success').inc()
 * reply.type(metrics.contentType).send(await metrics.text())
 */
export class ServerMetrics {
  readonly registry = new Registry()
  readonly requests: Counter<'method' | 'route' | 'status'>
  readonly duration: Histogram<'method' | 'route' | 'status'>
  readonly logins: Counter<'outcome'>
  readonly refreshes: Counter<'outcome'>
  readonly revocations: Counter<'reason'>
  readonly throttled: Counter<'kind'>
  readonly argon2Seconds: Histogram<'op'>
  readonly propagationLag: Histogram
  readonly sources: MetricSources = {}

  constructor() {
    const registers = [this.registry]
    this.requests = new Counter({
      name: 'keycard_http_requests_total',
      help: 'HTTP requests answered, by method, route template (unknown routes as "unmatched") and status code',
      labelNames: ['method', 'route', 'status'],
      registers,
    })
    this.duration = new Histogram({
      name: 'keycard_http_request_duration_seconds',
      help: 'Time from request to response, by method, route template and status code',
      labelNames: ['method', 'route', 'status'],
      buckets: HTTP_BUCKETS,
      registers,
    })
    this.logins = new Counter({
      name: 'keycard_logins_total',
      help: 'Password sign-ins (/auth/login and /auth/fresh-login) by outcome: success, bad_credentials, throttled, invalid_request, unavailable, error',
      labelNames: ['outcome'],
      registers,
    })
    this.refreshes = new Counter({
      name: 'keycard_refreshes_total',
      help: 'Refresh-token rotations by outcome: success, repeated, revoked, reuse_detected, invalid_token, unavailable, error',
      labelNames: ['outcome'],
      registers,
    })
    this.revocations = new Counter({
      name: 'keycard_revocations_total',
      help: 'Sessions this instance revoked, by reason: logout, logout_all, session, password_change, admin_delete_user, reuse_detected',
      labelNames: ['reason'],
      registers,
    })
    this.throttled = new Counter({
      name: 'keycard_throttled_requests_total',
      help: 'Requests refused with 429 by the throttle, by kind: login, register, password',
      labelNames: ['kind'],
      registers,
    })
    this.argon2Seconds = new Histogram({
      name: 'keycard_argon2_duration_seconds',
      help: 'Time argon2id took per hash or verification (after its wait for a slot), by op',
      labelNames: ['op'],
      buckets: ARGON2_BUCKETS,
      registers,
    })
    this.propagationLag = new Histogram({
      name: 'keycard_revocation_propagation_lag_seconds',
      help: 'Time from another process revoking a session (its revoked_at, one-second resolution) to this instance applying it, for revocations learned by polling',
      buckets: LAG_BUCKETS,
      registers,
    })
    const sources = this.sources
    new Gauge({
      name: 'keycard_argon2_queue_depth',
      help: 'argon2 operations waiting for a free slot (at most one runs per core)',
      registers,
      collect() {
        this.set(sources.argon2?.().queued ?? 0)
      },
    })
    new Gauge({
      name: 'keycard_argon2_active',
      help: 'argon2 operations running now',
      registers,
      collect() {
        this.set(sources.argon2?.().active ?? 0)
      },
    })
    new Gauge({
      name: 'keycard_revocation_view_staleness_seconds',
      help: 'Seconds since the revocation view was last confirmed current; past REVOCATION_MAX_STALENESS token checks answer 503',
      registers,
      collect() {
        this.set((sources.viewAgeMs?.() ?? 0) / 1000)
      },
    })
    new Gauge({
      name: 'keycard_db_pool_connections',
      help: 'PostgreSQL pool connections by state: total (open) and idle',
      labelNames: ['state'],
      registers,
      collect() {
        const db = sources.database?.()
        if (db && 'total' in db) {
          this.set({ state: 'total' }, db.total)
          this.set({ state: 'idle' }, db.idle)
        }
      },
    })
    new Gauge({
      name: 'keycard_db_pool_waiting',
      help: 'PostgreSQL: queries waiting for a pool connection; SQLite: write transactions waiting for the one connection',
      registers,
      collect() {
        const db = sources.database?.()
        this.set(db === undefined ? 0 : 'total' in db ? db.waiting : db.writesWaiting)
      },
    })
    collectDefaultMetrics({ register: this.registry })
  }

  /** Prometheus' text exposition format. */
  get contentType(): string {
    return this.registry.contentType
  }

  /** The exposition text of every metric (gauges are read now). */
  text(): Promise<string> {
    return this.registry.metrics()
  }

  /** Counts `count` sessions revoked for `reason` (nothing for 0). */
  revoked(reason: RevocationReason, count = 1): void {
    if (count > 0) this.revocations.labels(reason).inc(count)
  }
}
