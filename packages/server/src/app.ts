/**
 * `buildApp(config, deps)`: the Keycard server as a Fastify instance that is not listening yet (tests
 * and benches listen themselves; server.ts owns listening and signals). Every route is registered
 * here, explicitly.
 */

import Fastify, { type FastifyBaseLogger, LogController, type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify'
import type { Kysely } from 'kysely'
import type { DestinationStream, Logger } from 'pino'
import { loadKeysSecret, resolveJwtSecret, type Config } from './config.ts'
import { DatabaseBusyError, DatabaseUnavailableError, databaseOptions, openDatabase } from './db/database.ts'
import { migrateToLatest } from './db/migrations/index.ts'
import type { Database } from './db/schema.ts'
import { installJsonBodyParser } from './body.ts'
import { clientErrorHandler, frameworkErrors, installErrorHandlers } from './http-errors.ts'
import type { KeySyncEvent } from './keys/key-sync.ts'
import { SigningKeyUnavailableError, signingLogLine, type SigningSecret } from './keys/signing.ts'
import { purgeExpired } from './revocations.ts'
import { purgeFlaskTokens } from './flask-tokens.ts'
import { flaskWindowWarning } from './flask-window.ts'
import type { RevocationEvent } from './revocation-sync.ts'
import { buildServices, closeServices, type Services } from './services.ts'
import { registerAdminRoutes } from './routes/admin.ts'
import { registerAuthRoutes } from './routes/auth.ts'
import { registerAuditRoutes } from './routes/audit.ts'
import { purgeAuditEvents } from './audit/purge.ts'
import { throttleWarning } from './throttle/limits.ts'
import { purgeThrottle } from './throttle/purge.ts'
import { ThrottledError } from './throttle/throttle.ts'
import { registerHealthRoutes } from './routes/health.ts'
import { registerCors } from './cors.ts'
import { registerOpenApi } from './openapi.ts'
import { registerHealthProbes } from './routes/health-probes.ts'
import { serveMetrics } from './metrics/endpoint.ts'
import { installRequestMetrics } from './metrics/http.ts'
import { ServerMetrics } from './metrics/metrics.ts'
import { registerVerifyRoutes } from './routes/verify.ts'
import { registerWellKnownRoutes } from './routes/well-known.ts'
import { PAGE_NOT_BUILT, registerWebRoutes, WEB_DIST } from './routes/web.ts'

export type { Guards, Services } from './services.ts'
export { REFRESH_COOKIE_PATH } from './services.ts'
export type { RevocationEvent } from './revocation-sync.ts'
export type { KeySyncEvent } from './keys/key-sync.ts'

/** Largest request body accepted; larger ones get 413. */
export const BODY_LIMIT = 64 * 1024
const HOUR = 60 * 60 * 1000

export interface AppDeps {
  /** A database to use instead of opening `config.databasePath`; the app then leaves closing it to the caller. */
  db?: Kysely<Database>
  /** Where pino writes its JSON lines (default stdout); tests capture it. */
  logStream?: DestinationStream
  /** How often expired sessions are purged, in ms. Default one hour. */
  purgeIntervalMs?: number
  /**
   * How often revocations and admin changes written by other processes are re-read, in ms. Default
   * about a second on SQLite; on PostgreSQL, REVOCATION_POLL_INTERVAL while LISTEN/NOTIFY is healthy
   * (about a second while it is not).
   */
  revocationSyncMs?: number
  /** Called after each of those reads has completed (tests wait on it instead of on the clock). */
  onSync?: () => void
  /** Told of the revocation view's and the listener's events: confirmed, stale, listening, lost (tests wait on them). */
  onRevocationEvent?: (event: RevocationEvent) => void
  /** Keyring mode: told of every key-sync event (keys loaded, a key retired, a failure); tests wait on them. */
  onKeyEvent?: (event: KeySyncEvent) => void
  /** Keyring mode: how long a failed advance or key re-read waits before it is retried (ms; default 5 s). */
  keyRetryMs?: number
  /** The built account page (default `web/dist` of this package). */
  webDir?: string
  /** The login throttle's clock, epoch seconds (default the system clock): tests move it past a window's end. */
  throttleNow?: () => number
}

/**
 * Fastify's request lines ("incoming request", "request completed") are info lines: when the request's
 * logger would drop them anyway (LOG_LEVEL above info, or a route at `warn` such as /auth/verify),
 * skip building them (and timing the response) at all. Errored requests are logged as before.
 */
class RequestLogController extends LogController {
  // Our request loggers are always pino children (buildApp configures pino).
  static infoEnabled(request: FastifyRequest): boolean {
    return (request.log as unknown as Logger).isLevelEnabled('info')
  }

  override incomingRequest(request: FastifyRequest, reply: FastifyReply, metadata?: Record<string, unknown>): void {
    if (RequestLogController.infoEnabled(request)) super.incomingRequest(request, reply, metadata)
  }

  override requestCompleted(
    error: Error | null | undefined,
    request: FastifyRequest,
    reply: FastifyReply,
    metadata?: Record<string, unknown>,
  ): void {
    if (error || RequestLogController.infoEnabled(request)) super.requestCompleted(error, request, reply, metadata)
  }
}

/**
 * The secret of the active signing mode: JWT_SECRET (or the generated `jwt-secret`) in HMAC mode,
 * KEYS_SECRET (or the generated `keys-secret`) in keyring mode; says where it came from, never what it is.
 */
function resolveSigningSecret(config: Config, log: FastifyBaseLogger): SigningSecret {
  if (config.signing.mode === 'hmac') {
    const secret = resolveJwtSecret(config)
    if (secret.source === 'generated')
      log.warn(
        { path: secret.path },
        'JWT_SECRET is not set: generated a new secret and saved it (mode 0600); set JWT_SECRET in production',
      )
    else if (secret.source === 'file')
      log.info({ path: secret.path }, 'JWT_SECRET is not set: using the secret saved in the data directory')
    return { mode: 'hmac', secret: secret.secret }
  }
  const secret = loadKeysSecret(config)
  if (secret.source === 'generated')
    log.warn(
      { path: secret.path },
      'KEYS_SECRET is not set: generated a new one to encrypt the keyring and saved it (mode 0600); set KEYS_SECRET in production and keep it with your backups',
    )
  else if (secret.source === 'file') log.info({ path: secret.path }, 'KEYS_SECRET is not set: using the one saved in the data directory')
  return { mode: 'keyring', keysSecret: secret.secret }
}

/**
 * @example
 * const app = await buildApp(loadConfig())
 * await app.listen({ port: 3000 })
 */
export async function buildApp(config: Config, deps: AppDeps = {}): Promise<FastifyInstance> {
  const app = Fastify({
    logger: {
      level: config.logLevel,
      ...(deps.logStream ? { stream: deps.logStream } : {}),
      // Belt and braces: no serializer logs these, and nothing may start to.
      redact: {
        paths: ['req.headers.authorization', 'req.headers.cookie', 'password', 'new_password', 'access_token', 'refresh_token', 'secret'],
        censor: '[redacted]',
      },
    },
    logController: new RequestLogController(),
    bodyLimit: BODY_LIMIT,
    // Requests Node's parser or Fastify's router refuse (headers over 16 KiB, a bad URL) answer {"msg", "code"} too.
    clientErrorHandler,
    frameworkErrors,
    // TRUST_PROXY: only then is X-Forwarded-For believed (request.ip), and only from the proxies it names.
    trustProxy: config.trustProxy,
  })
  // Only JSON bodies: text/plain would otherwise arrive as a string.
  app.removeContentTypeParser('text/plain')
  installJsonBodyParser(app)
  installErrorHandlers(app, BODY_LIMIT)
  // Every response: browsers must not guess a type other than the one sent, and nothing may be cached:
  // token responses (login, refresh, and any that implicit refresh adds a cookie to) and personal data.
  // The account page's routes set their own Cache-Control, which replaces this one.
  app.addHook('onRequest', (_request, reply, done) => {
    reply.header('x-content-type-options', 'nosniff').header('cache-control', 'no-store')
    done()
  })

  // The database busy or unavailable: the client may retry (the 503 itself comes from the error handler).
  app.addHook('onError', (request, reply, error, done) => {
    if (error instanceof DatabaseBusyError) {
      reply.header('retry-after', String(error.retryAfter))
      request.log.warn({ err: error.cause }, 'database busy: another process held the lock past DATABASE_BUSY_TIMEOUT_MS')
    } else if (error instanceof DatabaseUnavailableError) {
      reply.header('retry-after', String(error.retryAfter))
      request.log.error({ err: error.cause }, `database unavailable: ${error.message}`)
    } else if (error instanceof ThrottledError) {
      reply.header('retry-after', String(error.retryAfter))
    } else if (error instanceof SigningKeyUnavailableError) {
      reply.header('retry-after', String(error.retryAfter))
      request.log.warn('a token was asked for while the retired signing key was being replaced')
    }
    done()
  })

  const db =
    deps.db ??
    openDatabase(
      config.databasePath,
      undefined,
      databaseOptions(config, (err) => app.log.warn({ err }, 'an idle database connection failed (the pool replaces it)')),
    )
  let services: Services | undefined
  // Only when served (METRICS_PORT or METRICS_TOKEN): otherwise no hook, no cost.
  const metrics = config.metricsPort !== undefined || config.metricsToken !== undefined ? new ServerMetrics() : undefined
  try {
    const applied = await migrateToLatest(db, (c) =>
      app.log.warn({ field: c.field, userId: c.userId, keptUserId: c.keptUserId }, c.message),
    )
    if (applied.length > 0) app.log.info({ migrations: applied }, 'database migrated')
    const secret = resolveSigningSecret(config, app.log)
    services = await buildServices(config, db, app.log, secret, {
      ...(deps.revocationSyncMs !== undefined ? { revocationSyncMs: deps.revocationSyncMs } : {}),
      ...(deps.onSync ? { onSync: deps.onSync } : {}),
      ...(deps.onRevocationEvent ? { onRevocationEvent: deps.onRevocationEvent } : {}),
      ...(deps.onKeyEvent ? { onKeyEvent: deps.onKeyEvent } : {}),
      ...(deps.keyRetryMs !== undefined ? { keyRetryMs: deps.keyRetryMs } : {}),
      ...(deps.throttleNow ? { throttleNow: deps.throttleNow } : {}),
      ...(metrics ? { metrics } : {}),
    })
    const throttleWarned = throttleWarning(config.throttle)
    if (throttleWarned) app.log.warn({ throttle: config.throttle }, throttleWarned)
    const flaskWarned = flaskWindowWarning(config.acceptFlaskTokensUntil)
    if (flaskWarned) app.log.warn(flaskWarned)
    else if (config.acceptFlaskTokensUntil !== null)
      app.log.info(
        { acceptFlaskTokensUntil: new Date(config.acceptFlaskTokensUntil * 1000).toISOString() },
        'accepting tokens signed by the Flask service until ACCEPT_FLASK_TOKENS_UNTIL',
      )
    app.log.info(...signingLogLine(config, services.signing))
    app.log.info(
      { cookieSecure: config.cookieSecure, implicitRefreshWindow: config.implicitRefreshWindow },
      config.cookieSecure
        ? 'cookie mode: Secure cookies (served over HTTPS only)'
        : 'cookie mode: cookies without Secure (development over http; set COOKIE_SECURE=true behind HTTPS)',
    )

    const { accessCsrfHeaderName, refreshCsrfHeaderName } = services.keycard.options
    await registerCors(app, config, [accessCsrfHeaderName, refreshCsrfHeaderName])
    // Before any route: it documents the routes registered after it.
    await registerOpenApi(app, services)
    if (metrics) {
      installRequestMetrics(app, metrics)
      serveMetrics(app, config, metrics)
    }
    registerAuthRoutes(app, services)
    registerVerifyRoutes(app, services)
    registerAdminRoutes(app, services)
    registerAuditRoutes(app, services)
    registerHealthRoutes(app, services)
    registerHealthProbes(app, services)
    registerWellKnownRoutes(app, services)
    const web = registerWebRoutes(app, deps.webDir ?? WEB_DIST)
    if (!web.built) app.log.warn({ dir: web.dir }, `the account page is not built: ${PAGE_NOT_BUILT}`)

    const { revocations, throttle } = services
    const purge = async () => {
      try {
        const purged = await purgeThrottle(db, config.throttle, throttle.now())
        if (purged.counters > 0 || purged.deviceTokens > 0) app.log.info(purged, 'purged ended throttle windows and unused device tokens')
      } catch (err) {
        app.log.error({ err }, 'purging throttle counters and device tokens failed')
      }
      try {
        const purged = await purgeExpired(db, revocations)
        if ((purged.rows ?? 0) > 0 || purged.memory > 0) app.log.info(purged, 'purged expired sessions')
      } catch (err) {
        app.log.error({ err }, 'purging expired sessions failed')
      }
      try {
        const purged = await purgeFlaskTokens(db, config.acceptFlaskTokensUntil)
        if (purged > 0) app.log.info({ rows: purged }, 'purged the blocklist rows of expired Flask tokens')
      } catch (err) {
        app.log.error({ err }, 'purging the Flask token blocklist failed')
      }
      // AUDIT_RETENTION: old audit events, in batches (off: kept forever).
      if (config.auditRetention === null) return
      try {
        const audit = await purgeAuditEvents(db, config.auditRetention)
        if (audit.rows > 0) app.log.info({ ...audit, retention: config.auditRetention }, 'purged old audit events')
      } catch (err) {
        app.log.error({ err }, 'purging old audit events failed')
      }
    }
    await purge()
    const timer = setInterval(purge, deps.purgeIntervalMs ?? HOUR)
    timer.unref()
    const built = services
    app.addHook('onClose', async () => {
      clearInterval(timer)
      await closeServices(built)
      if (!deps.db) await db.destroy()
    })
  } catch (err) {
    if (services) await closeServices(services)
    if (!deps.db) await db.destroy()
    throw err
  }
  return app
}
