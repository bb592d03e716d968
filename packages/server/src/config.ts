/**
 * Server configuration from the environment. `loadConfig(env)` checks every variable once, at start,
 * and returns a frozen `Config`; every problem is reported at once, each naming the variable, what it
 * expected and what it got. The server and the CLI read the same variables.
 */

import { toSeconds } from 'keycard'
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { randomBytes } from 'node:crypto'
import { dirname, isAbsolute, join, resolve } from 'node:path'
import { checkIssuer, checkKeysSecret, isLoopbackHost, SECRET_FILE, type Signing, signingMode } from './config-signing.ts'
import { parseFlaskTokensUntil } from './flask-window.ts'
import { type MetricsConfig, parseMetrics } from './metrics/config.ts'
import { parseThrottle, parseTrustProxy, type ThrottleConfig, type TrustProxy } from './throttle/limits.ts'
import { parseCorsOrigins } from './cors-origins.ts'
import { parseCookieDomain } from './cookie-domain.ts'

export {
  defaultIssuer,
  isLoopbackHost,
  SECRET_FILE,
  describeSigning,
  JWT_ALGORITHMS,
  KEY_ALGORITHMS,
  type Signing,
  type SigningAlgorithm,
  type SigningSource,
} from './config-signing.ts'

export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const
export type LogLevel = (typeof LOG_LEVELS)[number]

export interface Argon2Params {
  /** KiB of memory per hash (default 7168 with 5 passes: OWASP's m=7 MiB, t=5, the fastest here of its five equivalent argon2id settings; see bench/README.md). */
  readonly memoryCost: number
  /** Passes (default 5, paired with 7168 KiB; OWASP lists 1 to 5 passes with matching memory). */
  readonly timeCost: number
  /** Lanes (OWASP: 1). */
  readonly parallelism: number
}

export interface Config extends MetricsConfig {
  readonly port: number
  readonly host: string
  /** DATABASE_URL as given (or the default). Holds a password for PostgreSQL: never log it (`redactUrl`). */
  readonly databaseUrl: string
  /** Which database DATABASE_URL names: a SQLite file (the default) or a PostgreSQL server. */
  readonly databaseDialect: DatabaseDialect
  /**
   * SQLite: the file the URL names, absolute, or `:memory:`. PostgreSQL: the URL itself (so
   * `openDatabase(config.databasePath)` opens either).
   */
  readonly databasePath: string
  /** Where the generated JWT secret lives: the database file's directory (SQLite), `./data` otherwise. */
  readonly dataDir: string
  /** PostgreSQL: connections in the pool (DATABASE_POOL_SIZE, default 10). */
  readonly databasePoolSize: number
  /** PostgreSQL: ms a statement may run before the server cancels it (DATABASE_STATEMENT_TIMEOUT_MS, default 5000). */
  readonly databaseStatementTimeoutMs: number
  /** PostgreSQL: ms to open a connection or wait for a free one in the pool (DATABASE_CONNECT_TIMEOUT_MS, default 5000). */
  readonly databaseConnectTimeoutMs: number
  /** JWT_SECRET, or undefined when it has to come from (or be generated into) the data dir. */
  readonly jwtSecret: string | undefined
  /** Seconds. */
  readonly accessTokenExpires: number
  /** Seconds. */
  readonly refreshTokenExpires: number
  /** Seconds during which a used refresh token returns the same successor; 0 = strict. */
  readonly refreshReuseInterval: number
  readonly logLevel: LogLevel
  readonly argon2: Argon2Params
  readonly production: boolean
  /**
   * `Secure` on the token cookies of cookie mode (COOKIE_SECURE). Default: on, except in development:
   * NODE_ENV=development, or NODE_ENV other than production with HOST on loopback (`npm start`).
   */
  readonly cookieSecure: boolean
  /** Seconds before expiry within which a cookie-borne access token is re-issued (IMPLICIT_REFRESH_WINDOW); 0 = off. */
  readonly implicitRefreshWindow: number
  /** Milliseconds a query waits for a lock another process (the CLI) holds before answering 503 (DATABASE_BUSY_TIMEOUT_MS). */
  readonly databaseBusyTimeoutMs: number
  /**
   * Seconds an instance may go without confirming that it knows every revocation (REVOCATION_MAX_STALENESS,
   * default 5); past it, token-checked requests are answered 503 until it has (revocation-view.ts).
   */
  readonly revocationMaxStaleness: number
  /**
   * PostgreSQL: seconds between two re-reads of the recent revocations while LISTEN/NOTIFY is healthy
   * (REVOCATION_POLL_INTERVAL, default 5); while it is not, and always on SQLite, the poll runs every second.
   */
  readonly revocationPollInterval: number
  /**
   * How tokens are signed: `hmac` (HS256 with JWT_SECRET or the data dir's jwt-secret, exactly as before
   * the keyring) or `keyring` (an asymmetric key pair from the database's keyring, rotated). `source` says
   * what decided it, for the start-up log (`describeSigning`).
   */
  readonly signing: Signing
  /** KEYS_SECRET (keyring mode), or undefined when it has to come from (or be generated into) the data dir: `loadKeysSecret`. */
  readonly keysSecret: string | undefined
  /** Seconds a key signs before the next one replaces it (KEY_ROTATION_INTERVAL, default 90 days). */
  readonly keyRotationInterval: number
  /** Seconds verifiers may cache the JWKS (JWKS_MAX_AGE, default 600): its `Cache-Control: max-age`. */
  readonly jwksMaxAge: number
  /** Seconds a new key is published before it signs: two JWKS cache lifetimes (2 × JWKS_MAX_AGE). */
  readonly keyPublishLead: number
  /** ISSUER: the `iss` of keyring-mode tokens and of the openid-configuration; no trailing slash. */
  readonly issuer: string
  /** Seconds audit events are kept (AUDIT_RETENTION, default 90 days); null = `off`, kept forever. */
  readonly auditRetention: number | null
  /** THROTTLE_* and THROTTLE_BURST: the login, registration and password-change limits (throttle/limits.ts). */
  readonly throttle: ThrottleConfig
  /** TRUST_PROXY, Fastify's `trustProxy`: whether (and from whom) X-Forwarded-For is believed. Default false. */
  readonly trustProxy: TrustProxy
  /** CORS_ORIGINS: the exact origins whose pages may call the API with credentials (cors.ts); empty = no CORS. */
  readonly corsOrigins: readonly string[]
  /** COOKIE_DOMAIN: the sign-in cookies' `Domain` (cookie-domain.ts); undefined = the server's host only. */
  readonly cookieDomain: string | undefined
  /** ACCEPT_FLASK_TOKENS_UNTIL in epoch seconds: Flask-signed tokens are accepted before it (flask-tokens.ts); null = never. */
  readonly acceptFlaskTokensUntil: number | null
}

export const DEFAULT_DATABASE_URL = './data/keycard.db'
export type DatabaseDialect = 'sqlite' | 'postgres'
/** The file in the data dir holding a generated KEYS_SECRET (keyring mode). */
export const KEYS_SECRET_FILE = 'keys-secret'
/** Every variable the server reads, for `--help` texts and docs. */
export const ENV_VARS = [
  'PORT',
  'HOST',
  'DATABASE_URL',
  'JWT_SECRET',
  'ACCESS_TOKEN_EXPIRES',
  'REFRESH_TOKEN_EXPIRES',
  'REFRESH_REUSE_INTERVAL',
  'LOG_LEVEL',
  'ARGON2_MEMORY_COST',
  'ARGON2_TIME_COST',
  'ARGON2_PARALLELISM',
  'NODE_ENV',
  'COOKIE_SECURE',
  'IMPLICIT_REFRESH_WINDOW',
  'DATABASE_BUSY_TIMEOUT_MS',
  'DATABASE_POOL_SIZE',
  'DATABASE_STATEMENT_TIMEOUT_MS',
  'DATABASE_CONNECT_TIMEOUT_MS',
  'REVOCATION_MAX_STALENESS',
  'REVOCATION_POLL_INTERVAL',
  'JWT_ALGORITHM',
  'KEYS_SECRET',
  'KEY_ROTATION_INTERVAL',
  'JWKS_MAX_AGE',
  'ISSUER',
  'AUDIT_RETENTION',
  'THROTTLE_ACCOUNT',
  'THROTTLE_ADDRESS',
  'THROTTLE_ACCOUNT_ADDRESS',
  'THROTTLE_DEVICE',
  'THROTTLE_REGISTER',
  'THROTTLE_PASSWORD',
  'THROTTLE_BURST',
  'TRUST_PROXY',
  'CORS_ORIGINS',
  'COOKIE_DOMAIN',
  'ACCEPT_FLASK_TOKENS_UNTIL',
  'METRICS_PORT',
  'METRICS_HOST',
  'METRICS_TOKEN',
] as const

/** Thrown by `loadConfig`; `problems` has one line per bad variable. */
export class ConfigError extends Error {
  readonly problems: readonly string[]
  constructor(problems: string[]) {
    super(`Invalid configuration:\n${problems.map((p) => `  - ${p}`).join('\n')}`)
    this.name = 'ConfigError'
    this.problems = problems
  }
}

type Env = Record<string, string | undefined>

/** `true` for a `postgres://` or `postgresql://` URL. */
export function isPostgresUrl(url: string): boolean {
  return /^postgres(ql)?:\/\//i.test(url.trim())
}

/**
 * A DATABASE_URL fit for logs and messages: the password (and any query string, which may hold one)
 * replaced. A SQLite path is returned as is.
 *
 * @example
 * redactUrl('postgres://app:s3cret@db:5432/keycard') // 'postgres://app:***@db:5432/keycard'
 */
export function redactUrl(url: string): string {
  if (!isPostgresUrl(url)) return url
  try {
    const u = new URL(url.trim())
    if (u.password) u.password = '***'
    if (u.search) u.search = '?***'
    return u.toString()
  } catch {
    return 'postgres://***'
  }
}

/** Checks a PostgreSQL URL's shape; the message says what is wrong (never echoing the password). */
function checkPostgresUrl(url: string): void {
  let u: URL
  try {
    u = new URL(url.trim())
  } catch {
    throw new Error(`expected postgres://user:password@host:port/database, got an unparsable URL (${redactUrl(url)})`)
  }
  if (u.hostname === '' && !u.searchParams.has('host'))
    throw new Error(`names no host: expected postgres://user:password@host:port/database, got ${redactUrl(url)}`)
  if (u.pathname === '' || u.pathname === '/')
    throw new Error(`names no database: expected postgres://user:password@host:port/database, got ${redactUrl(url)}`)
}

/**
 * The SQLite file a DATABASE_URL names: a plain path, `file:path`, `sqlite:path`, `sqlite://path`
 * or `:memory:`; relative paths are resolved against `baseDir`. Throws a message for anything else
 * (a PostgreSQL URL is not a file: see `isPostgresUrl`).
 */
export function sqlitePathFromUrl(url: string, baseDir: string): string {
  const value = url.trim()
  if (value === '') throw new Error('expected a file path or a file:/sqlite: URL, got an empty string')
  if (isPostgresUrl(value)) throw new Error('a PostgreSQL URL names no SQLite file')
  let path = value
  const scheme = /^([a-z][a-z0-9+.-]*):/i.exec(value)
  if (scheme && !/^[a-z]:[\\/]/i.test(value)) {
    const name = scheme[1]!.toLowerCase()
    if (name !== 'file' && name !== 'sqlite')
      throw new Error(
        `unsupported scheme "${name}:"; use a file path, a file: or sqlite: URL, or postgres://user:password@host:port/database`,
      )
    // `sqlite:///abs/x.db` and `file:///abs/x.db` are absolute; `sqlite:./x.db` and `sqlite://./x.db` relative.
    path = value.slice(name.length + 1)
    if (path.startsWith('//')) path = path.slice(2)
    path = decodeURIComponent(path.split('?')[0]!)
    if (path === '') throw new Error(`"${value}" names no file`)
  }
  if (path === ':memory:') return path
  return isAbsolute(path) ? path : resolve(baseDir, path)
}

function integer(problems: string[], env: Env, name: string, fallback: number, min: number, max: number): number {
  const raw = env[name]
  if (raw === undefined || raw === '') return fallback
  if (!/^\d+$/.test(raw.trim()) || Number(raw) < min || Number(raw) > max) {
    problems.push(`${name}: expected an integer from ${min} to ${max}, got ${JSON.stringify(raw)}`)
    return fallback
  }
  return Number(raw)
}

function duration(problems: string[], env: Env, name: string, fallback: number, min: number): number {
  const raw = env[name]
  if (raw === undefined || raw === '') return fallback
  // The same grammar as keycard's options: 900, '15m', '30d'.
  const seconds = toSeconds(raw)
  if (seconds === undefined || seconds < min) {
    problems.push(
      `${name}: expected ${min > 0 ? 'a positive' : 'a'} duration in seconds or with a unit (s, m, h, d, w), such as 900 or 15m; got ${JSON.stringify(raw)}`,
    )
    return fallback
  }
  return seconds
}

const TRUE = new Set(['1', 'true', 'yes', 'on'])
const FALSE = new Set(['0', 'false', 'no', 'off'])

function boolean(problems: string[], env: Env, name: string, fallback: boolean): boolean {
  const raw = env[name]
  if (raw === undefined || raw === '') return fallback
  const value = raw.trim().toLowerCase()
  if (TRUE.has(value)) return true
  if (FALSE.has(value)) return false
  problems.push(`${name}: expected true or false (or 1/0, yes/no, on/off), got ${JSON.stringify(raw)}`)
  return fallback
}

/**
 * The default of COOKIE_SECURE: Secure outside development. Development is NODE_ENV=development, or
 * no NODE_ENV=production and a loopback HOST (the default `npm start` on http://127.0.0.1:3000: some
 * browsers, Safari among them, refuse Secure cookies over plain http even from localhost).
 */
export function defaultCookieSecure(nodeEnv: string | undefined, host: string): boolean {
  if (nodeEnv === 'production') return true
  if (nodeEnv === 'development') return false
  return !isLoopbackHost(host)
}

/**
 * Reads and checks the environment. Relative database paths are resolved against the directory the
 * command was started from (`INIT_CWD` under `npm run`, else the current directory). Throws ConfigError.
 */
export function loadConfig(env: Env = process.env): Config {
  const problems: string[] = []
  const production = env.NODE_ENV === 'production'

  const port = integer(problems, env, 'PORT', 3000, 0, 65535)
  const host = env.HOST === undefined || env.HOST === '' ? '127.0.0.1' : env.HOST.trim()
  if (/\s|\//.test(host))
    problems.push(`HOST: expected a hostname or IP address such as 127.0.0.1 or 0.0.0.0, got ${JSON.stringify(env.HOST)}`)

  const databaseUrl = env.DATABASE_URL === undefined || env.DATABASE_URL === '' ? DEFAULT_DATABASE_URL : env.DATABASE_URL
  const databaseDialect: DatabaseDialect = isPostgresUrl(databaseUrl) ? 'postgres' : 'sqlite'
  let databasePath = ''
  try {
    if (databaseDialect === 'postgres') {
      checkPostgresUrl(databaseUrl)
      databasePath = databaseUrl.trim()
    } else databasePath = sqlitePathFromUrl(databaseUrl, env.INIT_CWD || process.cwd())
  } catch (err) {
    problems.push(`DATABASE_URL: ${(err as Error).message}`)
  }
  const dataDir =
    databaseDialect === 'postgres' || databasePath === ':memory:' ? resolve(env.INIT_CWD || process.cwd(), 'data') : dirname(databasePath)

  let jwtSecret = env.JWT_SECRET === '' ? undefined : env.JWT_SECRET
  const signing = signingMode(problems, env, jwtSecret, dataDir)
  if (jwtSecret !== undefined && Buffer.byteLength(jwtSecret) < 32) {
    problems.push(
      `JWT_SECRET: must be at least 32 bytes (HS256), got ${Buffer.byteLength(jwtSecret)}; generate one with \`openssl rand -base64 32\``,
    )
    jwtSecret = undefined
  } else if (signing.mode === 'keyring') {
    // No HMAC secret in keyring mode (signingMode has refused JWT_SECRET with an asymmetric JWT_ALGORITHM).
  } else if (jwtSecret === undefined && production) {
    problems.push(
      'JWT_SECRET: required when NODE_ENV=production (a generated secret would be lost with the data dir); generate one with `openssl rand -base64 32`',
    )
  } else if (jwtSecret === undefined && databaseDialect === 'postgres') {
    problems.push(
      "JWT_SECRET: required with a PostgreSQL DATABASE_URL (every instance must sign with the same secret, and a generated one would live in one machine's data dir); generate one with `openssl rand -base64 32`",
    )
  }
  const keysSecret = signing.mode === 'keyring' ? checkKeysSecret(problems, env, production, databaseDialect) : undefined

  const accessTokenExpires = duration(problems, env, 'ACCESS_TOKEN_EXPIRES', 15 * 60, 1)
  const refreshTokenExpires = duration(problems, env, 'REFRESH_TOKEN_EXPIRES', 30 * 86400, 1)
  const refreshReuseInterval = duration(problems, env, 'REFRESH_REUSE_INTERVAL', 10, 0)
  if (refreshReuseInterval > 300)
    problems.push(
      `REFRESH_REUSE_INTERVAL: at most 300 seconds (it is a grace period for concurrent refreshes), got ${JSON.stringify(env.REFRESH_REUSE_INTERVAL)}`,
    )

  const level = (env.LOG_LEVEL === undefined || env.LOG_LEVEL === '' ? 'info' : env.LOG_LEVEL.trim().toLowerCase()) as LogLevel
  if (!LOG_LEVELS.includes(level))
    problems.push(`LOG_LEVEL: expected one of ${LOG_LEVELS.join(', ')}; got ${JSON.stringify(env.LOG_LEVEL)}`)

  const parallelism = integer(problems, env, 'ARGON2_PARALLELISM', 1, 1, 255)
  const argon2 = Object.freeze({
    // argon2 needs at least 8 KiB per lane.
    memoryCost: integer(problems, env, 'ARGON2_MEMORY_COST', 7168, 8 * parallelism, 4 * 1024 * 1024),
    timeCost: integer(problems, env, 'ARGON2_TIME_COST', 5, 1, 100),
    parallelism,
  })

  const cookieSecure = boolean(problems, env, 'COOKIE_SECURE', defaultCookieSecure(env.NODE_ENV, host))
  // Default: the last third of the access token's life (5 minutes of the default 15).
  const implicitRefreshWindow = duration(problems, env, 'IMPLICIT_REFRESH_WINDOW', Math.floor(accessTokenExpires / 3), 0)
  if (implicitRefreshWindow >= accessTokenExpires && implicitRefreshWindow > 0) {
    problems.push(
      `IMPLICIT_REFRESH_WINDOW: must be shorter than ACCESS_TOKEN_EXPIRES (${accessTokenExpires}s), or 0 to turn implicit refresh off; got ${JSON.stringify(env.IMPLICIT_REFRESH_WINDOW)}`,
    )
  }

  // better-sqlite3 waits synchronously: the whole server pauses while it waits, hence the cap.
  const databaseBusyTimeoutMs = integer(problems, env, 'DATABASE_BUSY_TIMEOUT_MS', 5000, 0, 30_000)
  const databasePoolSize = integer(problems, env, 'DATABASE_POOL_SIZE', 10, 1, 1000)
  const databaseStatementTimeoutMs = integer(problems, env, 'DATABASE_STATEMENT_TIMEOUT_MS', 5000, 100, 600_000)
  const databaseConnectTimeoutMs = integer(problems, env, 'DATABASE_CONNECT_TIMEOUT_MS', 5000, 100, 600_000)

  const revocationMaxStaleness = duration(problems, env, 'REVOCATION_MAX_STALENESS', 5, 1)
  if (revocationMaxStaleness > 3600)
    problems.push(
      `REVOCATION_MAX_STALENESS: at most 3600 seconds (past it an instance refuses tokens until it has re-read the revocations; a longer bound lets a revoked token through for that long), got ${JSON.stringify(env.REVOCATION_MAX_STALENESS)}`,
    )
  const revocationPollInterval = duration(problems, env, 'REVOCATION_POLL_INTERVAL', 5, 1)

  let jwksMaxAge = duration(problems, env, 'JWKS_MAX_AGE', 600, 1)
  if (jwksMaxAge > 7 * 86400) {
    jwksMaxAge = 600 // so that KEY_ROTATION_INTERVAL is not also reported for it
    problems.push(
      `JWKS_MAX_AGE: at most 7 days (a new key waits two of these before it signs, and a retired key stays cached that long by verifiers that ignore retirement), got ${JSON.stringify(env.JWKS_MAX_AGE)}`,
    )
  }
  const keyPublishLead = 2 * jwksMaxAge
  const keyRotationInterval = duration(problems, env, 'KEY_ROTATION_INTERVAL', 90 * 86400, 1)
  if (keyRotationInterval <= keyPublishLead)
    problems.push(
      `KEY_ROTATION_INTERVAL: must be longer than two JWKS cache lifetimes (2 × JWKS_MAX_AGE = ${keyPublishLead}s: a new key is published that long before it signs); got ${JSON.stringify(env.KEY_ROTATION_INTERVAL ?? '90d')}`,
    )
  const issuer = checkIssuer(problems, env, host, port, signing.mode === 'keyring' && production)

  const auditRetention = auditRetentionOf(problems, env)
  const throttle = parseThrottle(problems, env)
  const trustProxy = parseTrustProxy(problems, env)
  const corsOrigins = parseCorsOrigins(problems, env)
  const cookieDomain = parseCookieDomain(problems, env)
  const acceptFlaskTokensUntil = parseFlaskTokensUntil(problems, env, signing, jwtSecret)
  const metrics = parseMetrics(problems, env, host, port)

  if (problems.length > 0) throw new ConfigError(problems)
  return Object.freeze({
    ...metrics,
    port,
    host,
    databaseUrl,
    databaseDialect,
    databasePath,
    dataDir,
    databasePoolSize,
    databaseStatementTimeoutMs,
    databaseConnectTimeoutMs,
    jwtSecret,
    accessTokenExpires,
    refreshTokenExpires,
    refreshReuseInterval,
    logLevel: level,
    argon2,
    production,
    cookieSecure,
    implicitRefreshWindow,
    databaseBusyTimeoutMs,
    revocationMaxStaleness,
    revocationPollInterval,
    signing: Object.freeze(signing),
    keysSecret,
    keyRotationInterval,
    jwksMaxAge,
    keyPublishLead,
    issuer,
    auditRetention,
    throttle,
    trustProxy,
    corsOrigins,
    cookieDomain,
    acceptFlaskTokensUntil,
  })
}

/** AUDIT_RETENTION: a duration of at least a day, or `off` (null: audit events are never purged). */
function auditRetentionOf(problems: string[], env: Env): number | null {
  const raw = env.AUDIT_RETENTION?.trim()
  if (raw?.toLowerCase() === 'off') return null
  const seconds = duration(problems, env, 'AUDIT_RETENTION', 90 * 86400, 1)
  if (seconds < 86400)
    problems.push(`AUDIT_RETENTION: at least 1d (or off to keep events forever), got ${JSON.stringify(env.AUDIT_RETENTION)}`)
  return seconds
}

export interface ResolvedSecret {
  secret: string
  /** Where it came from: the environment, the data dir, or generated just now into the data dir. */
  source: 'env' | 'file' | 'generated'
  path?: string
}

/**
 * The JWT signing secret (HMAC mode): JWT_SECRET, else the one kept in `<dataDir>/jwt-secret`, else a
 * new 256-bit secret written there with mode 0600. Refuses in production (loadConfig already does), and
 * in keyring mode: a jwt-secret file would make the next start an HS256 one.
 *
 * @example
 * const { secret, source } = resolveJwtSecret(config) // source: 'env' | 'file' | 'generated'
 */
export function resolveJwtSecret(config: Config): ResolvedSecret {
  if (config.signing.mode === 'keyring')
    throw new ConfigError([
      `JWT_SECRET: not used in keyring mode (JWT_ALGORITHM=${config.signing.algorithm}); the signing keys are in the database`,
    ])
  if (config.jwtSecret !== undefined) return { secret: config.jwtSecret, source: 'env' }
  if (config.production) throw new ConfigError(['JWT_SECRET: required when NODE_ENV=production'])
  return secretFromDataDir(config, SECRET_FILE, 'JWT_SECRET')
}

/**
 * The secret that encrypts the keyring's private keys (keyring mode): KEYS_SECRET, else the one kept in
 * `<dataDir>/keys-secret`, else a new 256-bit secret written there with mode 0600. Refuses in production
 * and with PostgreSQL (loadConfig already does), and in HMAC mode, which has no keyring.
 *
 * @example
 * const keys = loadKeysSecret(config)
 * if (keys.source === 'generated') log.warn({ path: keys.path }, 'KEYS_SECRET is not set: generated one')
 */
export function loadKeysSecret(config: Config): ResolvedSecret {
  if (config.signing.mode !== 'keyring')
    throw new ConfigError(['KEYS_SECRET: not used in HMAC mode (HS256 with JWT_SECRET): there is no keyring to encrypt'])
  if (config.keysSecret !== undefined) return { secret: config.keysSecret, source: 'env' }
  if (config.production) throw new ConfigError(['KEYS_SECRET: required when NODE_ENV=production'])
  if (config.databaseDialect === 'postgres') throw new ConfigError(['KEYS_SECRET: required with a PostgreSQL DATABASE_URL'])
  return secretFromDataDir(config, KEYS_SECRET_FILE, 'KEYS_SECRET')
}

/** `<dataDir>/<file>`: read (at least 32 bytes), or generated (256 random bits, mode 0600, never overwritten). */
function secretFromDataDir(config: Config, file: string, variable: string): ResolvedSecret {
  const path = join(config.dataDir, file)
  if (existsSync(path)) {
    const secret = readFileSync(path, 'utf8').trim()
    if (Buffer.byteLength(secret) < 32)
      throw new ConfigError([
        `${variable}: the secret kept in ${path} is shorter than 32 bytes; delete the file to generate a new one, or set ${variable}`,
      ])
    return { secret, source: 'file', path }
  }
  mkdirSync(config.dataDir, { recursive: true, mode: 0o700 })
  const secret = randomBytes(32).toString('base64url')
  writeFileSync(path, `${secret}\n`, { mode: 0o600, flag: 'wx' })
  chmodSync(path, 0o600) // the umask may have masked the mode; the secret must not be group-readable
  return { secret, source: 'generated', path }
}
