/**
 * `buildServices(config, db, log, deps)`: what the routes use, built once per app: the revocation
 * state and admin set with what keeps them current (revocation-sync.ts) and their staleness bound
 * (revocation-view.ts), keycard (HMAC or keyring mode, keys/signing.ts; in keyring mode kept in step
 * with the ring by keys/key-sync.ts) and its Fastify adapter, the guards, sessions and the password hasher.
 * app.ts wires them to Fastify.
 */

import type { FastifyBaseLogger, FastifyReply } from 'fastify'
import type { Kysely } from 'kysely'
import { createKeycard, type Keycard } from 'keycard'
import { fastifyKeycard, type FastifyKeycard, type KeycardHook } from 'keycard/fastify'
import { Admins } from './admins.ts'
import { FlaskTokens, flaskResponses, isFlaskShaped } from './flask-tokens.ts'
import { AuditLog } from './audit/log.ts'
import type { Config } from './config.ts'
import { dialectOf } from './db/database.ts'
import { postgresClientConfig } from './db/postgres.ts'
import type { Database } from './db/schema.ts'
import { TOKEN_ERROR_RESPONSES } from './http-errors.ts'
import { KeySync, type KeySyncEvent } from './keys/key-sync.ts'
import { keycardKeyOptions, keyEventLogger, loadSigningKeys, type SigningKeys, type SigningSecret } from './keys/signing.ts'
import { createPasswordHasher, type PasswordHasher } from './passwords.ts'
import { type RevocationEvent, RevocationSync, revocationEventLogger } from './revocation-sync.ts'
import { RevocationView, STALE_MESSAGE, STALE_RETRY_AFTER } from './revocation-view.ts'
import { nowSeconds, Revocations, SESSION_CLAIM } from './revocations.ts'
import { Sessions } from './sessions.ts'
import { Throttle } from './throttle/throttle.ts'
import { poolUse } from './db/database.ts'
import type { ServerMetrics } from './metrics/metrics.ts'

/** Path of the refresh-token cookie (its CSRF twin is at `/`). */
export const REFRESH_COOKIE_PATH = '/auth/refresh'

/** Token checks, as `onRequest` hooks: they run before the body is read, so auth errors come first. */
export interface Guards {
  access: KeycardHook
  fresh: KeycardHook
  refresh: KeycardHook
  /** Access or refresh (logout). */
  any: KeycardHook
}

/** What the route modules use. */
export interface Services {
  config: Config
  db: Kysely<Database>
  keycard: Keycard
  /** Which mode signs (HMAC or the keyring) and with what; routes/well-known.ts publishes the keyring's public half. */
  signing: SigningKeys
  /** Keyring mode: what keeps the keycard's keys in step with the ring (scheduler, notifications, polls). */
  keys?: KeySync
  auth: FastifyKeycard<unknown>
  guards: Guards
  hasher: PasswordHasher
  sessions: Sessions
  revocations: Revocations
  /** Who is an admin now, for /auth/verify (kept current like revocations). */
  admins: Admins
  /** Whether the revocation state is known current; stale = token-checked requests answer 503. */
  view: RevocationView
  /** What keeps revocations and admins current (its `listening` says whether LISTEN/NOTIFY is healthy). */
  sync: RevocationSync
  /** Writes the audit trail (audit/log.ts): routes record security events with it after the action commits. */
  audit: AuditLog
  /** Login, registration and password-change throttling, and device tokens (throttle/throttle.ts). */
  throttle: Throttle
  /** ACCEPT_FLASK_TOKENS_UNTIL is set: the Flask token window's checks and writes (flask-tokens.ts). */
  flask?: FlaskTokens
  /** The Prometheus metrics, when METRICS_PORT or METRICS_TOKEN serves them (metrics/metrics.ts). */
  metrics?: ServerMetrics
}

export interface ServicesDeps {
  /** The poll's interval in ms, instead of the default (see `pollIntervals`). */
  revocationSyncMs?: number
  /** Called after each successful poll. */
  onSync?: () => void
  /** Told of every revocation-view and listener event (after it is logged). */
  onRevocationEvent?: (event: RevocationEvent) => void
  /** Keyring mode: told of every key-sync event (after it is logged). */
  onKeyEvent?: (event: KeySyncEvent) => void
  /** Keyring mode: how long a failed advance or key re-read waits before it is retried (ms; default 5 s). */
  keyRetryMs?: number
  /** The throttle's clock, epoch seconds (tests pass their own). */
  throttleNow?: () => number
  /** The app's metrics (app.ts makes them when they are served): the gauges' sources are wired here. */
  metrics?: ServerMetrics
}

/**
 * Answers 503 `REVOCATION_VIEW_STALE` with Retry-After: the instance cannot vouch that a token is not
 * revoked. Checked before the token itself, by every guard and by /auth/verify.
 *
 * @example
 * if (view.isStale()) return sendStale(reply)
 */
export function sendStale(reply: FastifyReply): void {
  reply.code(503).header('retry-after', String(STALE_RETRY_AFTER)).send({ msg: STALE_MESSAGE, code: 'REVOCATION_VIEW_STALE' })
}

/**
 * The poll's intervals and look-back margin for `config`: about a second (a fifth of the staleness
 * bound when that is shorter) on SQLite and while PostgreSQL's listener is down; `REVOCATION_POLL_INTERVAL`
 * while it is up. The margin covers a `revoked_at` computed before its statement waited for a lock (the
 * busy timeout on SQLite; two statements' timeouts on PostgreSQL), plus clock skew between instances.
 *
 * @example
 * pollIntervals(loadConfig()) // { pollMs: 1000, slowPollMs: 5000, heartbeatMs: 1000, marginSeconds: 12 } on PostgreSQL
 */
export function pollIntervals(
  config: Config,
  override?: number,
): { pollMs: number; slowPollMs: number; heartbeatMs: number; marginSeconds: number } {
  const fast = Math.min(1000, (config.revocationMaxStaleness * 1000) / 5)
  if (config.databaseDialect === 'sqlite') {
    const pollMs = override ?? fast
    return { pollMs, slowPollMs: pollMs, heartbeatMs: fast, marginSeconds: Math.ceil(config.databaseBusyTimeoutMs / 1000) + 2 }
  }
  const slowPollMs = override ?? config.revocationPollInterval * 1000
  return {
    pollMs: Math.min(fast, slowPollMs),
    slowPollMs,
    heartbeatMs: fast,
    marginSeconds: Math.ceil((2 * config.databaseStatementTimeoutMs) / 1000) + 2,
  }
}

/**
 * @example
 * const services = await buildServices(config, db, app.log, { mode: 'hmac', secret }, {})
 * registerAuthRoutes(app, services)
 * app.addHook('onClose', () => closeServices(services))
 */
export async function buildServices(
  config: Config,
  db: Kysely<Database>,
  log: FastifyBaseLogger,
  secret: SigningSecret,
  deps: ServicesDeps = {},
): Promise<Services> {
  const logEvent = revocationEventLogger(log, config.revocationMaxStaleness)
  const onEvent = (event: RevocationEvent) => {
    logEvent(event)
    deps.onRevocationEvent?.(event)
  }
  // Made before the load: the view is confirmed as of the load's start.
  const view = new RevocationView({ maxStalenessMs: config.revocationMaxStaleness * 1000, onEvent })
  const loadedAt = nowSeconds()
  let revocations: Revocations
  let admins: Admins
  let signing: SigningKeys
  let keycard: Keycard
  const until = config.acceptFlaskTokensUntil
  const flask = until === null ? undefined : new FlaskTokens({ db, until })
  try {
    revocations = await Revocations.load(db)
    admins = await Admins.load(db)
    signing = await loadSigningKeys(config, db, secret)
    keycard = await createServerKeycard(config, signing, revocations, flask)
  } catch (err) {
    view.close()
    throw err
  }
  const logKeys = keyEventLogger(log)
  const keys =
    signing.mode === 'keyring'
      ? new KeySync({
          keyring: signing.keyring,
          keycard,
          initial: signing,
          onEvent: (event) => {
            logKeys(event)
            deps.onKeyEvent?.(event)
          },
          ...(deps.keyRetryMs !== undefined ? { retryMs: deps.keyRetryMs } : {}),
        })
      : undefined
  const intervals = pollIntervals(config, deps.revocationSyncMs)
  const sync = new RevocationSync({
    db,
    revocations,
    admins,
    view,
    loadedAt,
    ...intervals,
    ...(dialectOf(db) === 'postgres'
      ? { listen: { client: postgresClientConfig(config.databasePath, postgresOptions(config)), heartbeatMs: intervals.heartbeatMs } }
      : {}),
    ...(keys ? { keys } : {}),
    ...(deps.onSync ? { onSync: deps.onSync } : {}),
    ...(deps.metrics ? { onLearned: (lag: number) => deps.metrics!.propagationLag.observe(lag) } : {}),
    onEvent,
  })
  try {
    await sync.start()
    await keys?.start()
    const services = withKeycard(config, db, keycard, signing, { revocations, admins, view, sync, keys }, deps)
    if (deps.metrics) {
      const { sources } = deps.metrics
      sources.argon2 = () => services.hasher.load()
      sources.viewAgeMs = () => view.ageMs
      sources.database = () => poolUse(db) ?? { writesWaiting: 0 }
    }
    return flask ? { ...services, flask } : services
  } catch (err) {
    view.close()
    await keys?.close()
    await sync.close()
    throw err
  }
}

/** The keycard of either signing mode, on the revocation state `buildServices` has loaded and keeps current. */
function createServerKeycard(config: Config, signing: SigningKeys, revocations: Revocations, flask?: FlaskTokens): Promise<Keycard> {
  return createKeycard({
    ...keycardKeyOptions(signing),
    accessTokenExpires: config.accessTokenExpires,
    refreshTokenExpires: config.refreshTokenExpires,
    // API clients send `Authorization: Bearer`; the account page (cookie mode) sends cookies, and
    // then must echo the CSRF cookie in X-CSRF-TOKEN on POST/PUT/PATCH/DELETE.
    tokenLocation: ['headers', 'cookies'],
    cookieSecure: config.cookieSecure,
    cookieSameSite: 'Lax',
    // COOKIE_DOMAIN: an account page on a sibling host must read the CSRF cookie.
    ...(config.cookieDomain ? { cookieDomain: config.cookieDomain } : {}),
    // Sent only to the refresh route; logout and the rest use the access cookie.
    refreshCookiePath: REFRESH_COOKIE_PATH,
    // Both CSRF cookies at `/`, so the page can read the refresh one too.
    accessCsrfCookiePath: '/',
    refreshCsrfCookiePath: '/',
    // Memory only: no database round trip per request; but one for a token of the Flask service
    // (no session id) while ACCEPT_FLASK_TOKENS_UNTIL allows them (flask-tokens.ts).
    // Chosen once: without the window, the per-request check is the revocation lookup alone.
    tokenInBlocklist: flask
      ? (_header, claims) => (isFlaskShaped(claims) ? flask.isRefused(claims) : revocations.isRevoked(claims))
      : (_header, claims) => revocations.isRevoked(claims),
    // FJE's statuses and messages, plus a stable `code` the account page decides on.
    responses: flask ? flaskResponses(flask) : TOKEN_ERROR_RESPONSES,
  })
}

/** The rest of the services, around the keycard. */
function withKeycard(
  config: Config,
  db: Kysely<Database>,
  keycard: Keycard,
  signing: SigningKeys,
  { revocations, admins, view, sync, keys }: Pick<Services, 'revocations' | 'admins' | 'view' | 'sync' | 'keys'>,
  { throttleNow, metrics }: Pick<ServicesDeps, 'throttleNow' | 'metrics'>,
): Services {
  const sessions = new Sessions({
    db,
    keycard,
    revocations,
    admins,
    refreshReuseInterval: config.refreshReuseInterval,
    accessTokenExpires: config.accessTokenExpires,
    ...(keys ? { canSign: () => keys.canSign } : {}),
  })
  const auth = fastifyKeycard(
    keycard,
    config.implicitRefreshWindow > 0
      ? {
          implicitRefresh: {
            within: config.implicitRefreshWindow,
            // The same login session (sid) and the current admin flag; nothing re-issued when the
            // session has just ended or would end first.
            mint: async ({ claims }) =>
              await sessions.reissueAccess({ sid: String(claims[SESSION_CLAIM]), sub: String(claims.sub), exp: Number(claims.exp) }),
          },
        }
      : undefined,
  )
  // Past the staleness bound a guard answers 503 before it even reads the token.
  const guard = (hook: KeycardHook): KeycardHook =>
    function staleAware(this: unknown, request, reply, done) {
      if (view.isStale()) return sendStale(reply)
      return (hook as (this: unknown, ...args: unknown[]) => void).call(this, request, reply, done)
    } as KeycardHook
  const audit = new AuditLog(db)
  const guards: Guards = {
    access: guard(auth.jwtRequired()),
    fresh: guard(auth.jwtRequired({ fresh: true })),
    refresh: guard(auth.jwtRequired({ refresh: true })),
    any: guard(auth.jwtRequired({ verifyType: false })),
  }
  return {
    config,
    db,
    keycard,
    signing,
    ...(keys ? { keys } : {}),
    auth,
    guards,
    revocations,
    sessions,
    admins,
    view,
    sync,
    hasher: createPasswordHasher(config.argon2, metrics ? (op, seconds) => metrics.argon2Seconds.labels(op).observe(seconds) : undefined),
    ...(metrics ? { metrics } : {}),
    audit,
    throttle: new Throttle({ db, config: config.throttle, audit, ...(throttleNow ? { now: throttleNow } : {}) }),
  }
}

/**
 * Stops the timers (the view's, the keyring scheduler's) and the listener's connection (the app is closing).
 *
 * @example
 * app.addHook('onClose', () => closeServices(services))
 */
export async function closeServices(services: Services): Promise<void> {
  services.view.close()
  await services.keys?.close()
  await services.sync.close()
}

function postgresOptions(config: Config) {
  return { statementTimeoutMs: config.databaseStatementTimeoutMs, connectTimeoutMs: config.databaseConnectTimeoutMs }
}
