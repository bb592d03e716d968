/**
 * `buildApp(config, deps)`: the Keycard server as a Fastify instance that is not listening yet (tests
 * and benches listen themselves; server.ts owns listening and signals). Every route is registered
 * here, explicitly.
 */

import Fastify, { type FastifyInstance, type onRequestAsyncHookHandler, type preHandlerAsyncHookHandler } from 'fastify'
import type { Kysely } from 'kysely'
import type { DestinationStream } from 'pino'
import { createKeycard, type Keycard } from 'keycard'
import { fastifyKeycard, type FastifyKeycard } from 'keycard/fastify'
import { resolveJwtSecret, type Config } from './config.ts'
import { openDatabase } from './db/database.ts'
import { migrateToLatest } from './db/migrations/index.ts'
import type { Database } from './db/schema.ts'
import { installErrorHandlers } from './http-errors.ts'
import { createPasswordHasher, type PasswordHasher } from './passwords.ts'
import { purgeExpired, Revocations } from './revocations.ts'
import { Sessions } from './sessions.ts'
import { registerAdminRoutes } from './routes/admin.ts'
import { registerAuthRoutes } from './routes/auth.ts'
import { registerHealthRoutes } from './routes/health.ts'
import { registerVerifyRoutes } from './routes/verify.ts'

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
}

/** Token checks, as `onRequest` hooks: they run before the body is read, so auth errors come first. */
export interface Guards {
  access: onRequestAsyncHookHandler
  fresh: onRequestAsyncHookHandler
  refresh: onRequestAsyncHookHandler
  /** Access or refresh (logout). */
  any: onRequestAsyncHookHandler
}

/** What the route modules use. */
export interface Services {
  config: Config
  db: Kysely<Database>
  keycard: Keycard
  auth: FastifyKeycard<unknown>
  guards: Guards
  hasher: PasswordHasher
  sessions: Sessions
  revocations: Revocations
}

// keycard's guard is typed as a preHandler; the same function works as an onRequest hook.
function onRequest(hook: preHandlerAsyncHookHandler): onRequestAsyncHookHandler {
  return function guard(request, reply) {
    return hook.call(this, request, reply)
  }
}

export async function buildApp(config: Config, deps: AppDeps = {}): Promise<FastifyInstance> {
  const app = Fastify({
    logger: {
      level: config.logLevel,
      ...(deps.logStream ? { stream: deps.logStream } : {}),
      // Belt and braces: no serializer logs these, and nothing may start to.
      redact: { paths: ['req.headers.authorization', 'req.headers.cookie', 'password', 'new_password', 'access_token', 'refresh_token', 'secret'], censor: '[redacted]' },
    },
    bodyLimit: BODY_LIMIT,
  })
  // Only JSON bodies: text/plain would otherwise arrive as a string.
  app.removeContentTypeParser('text/plain')
  installErrorHandlers(app, BODY_LIMIT)

  const db = deps.db ?? openDatabase(config.databasePath)
  try {
    const applied = await migrateToLatest(db)
    if (applied.length > 0) app.log.info({ migrations: applied }, 'database migrated')
    const secret = resolveJwtSecret(config)
    if (secret.source === 'generated') app.log.warn({ path: secret.path }, 'JWT_SECRET is not set: generated a new secret and saved it (mode 0600); set JWT_SECRET in production')
    else if (secret.source === 'file') app.log.info({ path: secret.path }, 'JWT_SECRET is not set: using the secret saved in the data directory')

    const revocations = await Revocations.load(db)
    const keycard = await createKeycard({
      secret: secret.secret,
      accessTokenExpires: config.accessTokenExpires,
      refreshTokenExpires: config.refreshTokenExpires,
      // Memory only: no database round trip per request.
      tokenInBlocklist: (_header, claims) => revocations.isRevoked(claims),
    })
    const auth = fastifyKeycard(keycard)
    await app.register(auth.plugin)
    const guards: Guards = {
      access: onRequest(auth.jwtRequired()),
      fresh: onRequest(auth.jwtRequired({ fresh: true })),
      refresh: onRequest(auth.jwtRequired({ refresh: true })),
      any: onRequest(auth.jwtRequired({ verifyType: false })),
    }
    const services: Services = {
      config, db, keycard, auth, guards, revocations,
      hasher: createPasswordHasher(config.argon2),
      sessions: new Sessions({ db, keycard, revocations, refreshReuseInterval: config.refreshReuseInterval }),
    }

    registerAuthRoutes(app, services)
    registerVerifyRoutes(app, services)
    registerAdminRoutes(app, services)
    registerHealthRoutes(app, services)

    const purge = async () => {
      try {
        const purged = await purgeExpired(db, revocations)
        if (purged.rows > 0 || purged.memory > 0) app.log.info(purged, 'purged expired sessions')
      } catch (err) {
        app.log.error({ err }, 'purging expired sessions failed')
      }
    }
    await purge()
    const timer = setInterval(purge, deps.purgeIntervalMs ?? HOUR)
    timer.unref()
    app.addHook('onClose', async () => {
      clearInterval(timer)
      if (!deps.db) await db.destroy()
    })
  } catch (err) {
    if (!deps.db) await db.destroy()
    throw err
  }
  return app
}
