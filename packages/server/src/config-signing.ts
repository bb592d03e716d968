/**
 * The signing side of the configuration: which mode is active (HS256 with JWT_SECRET, or the keyring's
 * key pairs) and why, KEYS_SECRET's rules, and ISSUER. loadConfig (config.ts) calls these and
 * re-exports what is public, so callers import from config.ts only.
 */

import { existsSync } from 'node:fs'
import { join } from 'node:path'

type Env = Record<string, string | undefined>

/** The file in the data dir holding a generated JWT_SECRET (HMAC mode): its presence keeps an installation on HS256. */
export const SECRET_FILE = 'jwt-secret'

/** The asymmetric algorithms the keyring signs with (JWT_ALGORITHM other than HS256). */
export const KEY_ALGORITHMS = ['ES256', 'EdDSA', 'RS256', 'PS256'] as const
export type SigningAlgorithm = (typeof KEY_ALGORITHMS)[number]
/** Every JWT_ALGORITHM value. */
export const JWT_ALGORITHMS = [...KEY_ALGORITHMS, 'HS256'] as const

/** What decided the signing mode: JWT_ALGORITHM, JWT_SECRET, a jwt-secret file of an existing installation, or the default. */
export type SigningSource = 'JWT_ALGORITHM' | 'JWT_SECRET' | 'jwt-secret file' | 'default'
export type Signing =
  | { readonly mode: 'hmac'; readonly algorithm: 'HS256'; readonly source: SigningSource }
  | { readonly mode: 'keyring'; readonly algorithm: SigningAlgorithm; readonly source: SigningSource }

/** `localhost`, `127.x.x.x` or `::1`: only this machine can connect. */
export function isLoopbackHost(host: string): boolean {
  const h = host.toLowerCase().replace(/^\[|\]$/g, '')
  return (
    h === 'localhost' || h.endsWith('.localhost') || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(h) || h === '::1' || h === '::ffff:127.0.0.1'
  )
}

/**
 * JWT_ALGORITHM, or its default: HS256 when JWT_SECRET is set or the data dir holds a generated
 * jwt-secret (an existing installation: switching would sign everyone out), ES256 otherwise.
 */
export function signingMode(problems: string[], env: Env, jwtSecret: string | undefined, dataDir: string): Signing {
  const raw = env.JWT_ALGORITHM?.trim()
  if (raw !== undefined && raw !== '') {
    const algorithm = JWT_ALGORITHMS.find((a) => a.toLowerCase() === raw.toLowerCase())
    // Unknown: reported, and the default below stands in, so that no problem follows from the typo alone.
    if (algorithm === undefined)
      problems.push(`JWT_ALGORITHM: expected one of ${JWT_ALGORITHMS.join(', ')}; got ${JSON.stringify(env.JWT_ALGORITHM)}`)
    else if (algorithm === 'HS256') return { mode: 'hmac', algorithm, source: 'JWT_ALGORITHM' }
    else {
      if (jwtSecret !== undefined)
        problems.push(
          `JWT_SECRET: set, but JWT_ALGORITHM=${algorithm} signs with the keyring's key pairs, not a shared secret; unset JWT_SECRET to use the keyring, or unset JWT_ALGORITHM (or set it to HS256) to keep signing with JWT_SECRET`,
        )
      return { mode: 'keyring', algorithm, source: 'JWT_ALGORITHM' }
    }
  }
  if (jwtSecret !== undefined) return { mode: 'hmac', algorithm: 'HS256', source: 'JWT_SECRET' }
  if (existsSync(join(dataDir, SECRET_FILE))) return { mode: 'hmac', algorithm: 'HS256', source: 'jwt-secret file' }
  return { mode: 'keyring', algorithm: 'ES256', source: 'default' }
}

/** KEYS_SECRET: at least 32 bytes; required where a generated one would be lost or differ between instances. */
export function checkKeysSecret(problems: string[], env: Env, production: boolean, dialect: 'sqlite' | 'postgres'): string | undefined {
  const secret = env.KEYS_SECRET === '' ? undefined : env.KEYS_SECRET
  const how = 'generate one with `openssl rand -base64 32`'
  if (secret !== undefined && Buffer.byteLength(secret) < 32) {
    problems.push(`KEYS_SECRET: must be at least 32 bytes, got ${Buffer.byteLength(secret)}; ${how}`)
    return undefined
  }
  if (secret === undefined && production)
    problems.push(
      `KEYS_SECRET: required when NODE_ENV=production (it encrypts the signing keys in the database; a generated one would be lost with the data dir); ${how}`,
    )
  else if (secret === undefined && dialect === 'postgres')
    problems.push(
      `KEYS_SECRET: required with a PostgreSQL DATABASE_URL (every instance must decrypt the same signing keys, and a generated secret would live in one machine's data dir); ${how}`,
    )
  return secret
}

/** ISSUER, checked and without a trailing slash; else the server's own address. */
export function checkIssuer(problems: string[], env: Env, host: string, port: number, required: boolean): string {
  const fallback = defaultIssuer(host, port)
  const raw = env.ISSUER?.trim()
  if (raw === undefined || raw === '') {
    if (required)
      problems.push(
        `ISSUER: required in keyring mode when NODE_ENV=production (every token carries it as \`iss\` and resource servers check it); set the server's public URL, such as https://auth.example.com`,
      )
    return fallback
  }
  let url: URL
  try {
    url = new URL(raw)
  } catch {
    problems.push(`ISSUER: expected an http or https URL such as https://auth.example.com, got ${JSON.stringify(env.ISSUER)}`)
    return fallback
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:')
    problems.push(`ISSUER: must be an http or https URL, such as https://auth.example.com; got ${JSON.stringify(env.ISSUER)}`)
  else if (url.username !== '' || url.password !== '')
    problems.push('ISSUER: must not hold a user name or password (it is published in every token), such as https://auth.example.com')
  else if (url.search !== '' || url.hash !== '' || /[?#]/.test(raw))
    problems.push(`ISSUER: must not have a query string or a fragment, such as https://auth.example.com; got ${JSON.stringify(env.ISSUER)}`)
  else return url.toString().replace(/\/+$/, '')
  return fallback
}

/**
 * The ISSUER default: `http://localhost:<PORT>` when HOST is loopback or a wildcard, else `http://<HOST>:<PORT>`.
 *
 * @example
 * defaultIssuer('0.0.0.0', 3000) // 'http://localhost:3000'
 */
export function defaultIssuer(host: string, port: number): string {
  const h = host.replace(/^\[|\]$/g, '')
  if (isLoopbackHost(h) || h === '0.0.0.0' || h === '::' || h === '') return `http://localhost:${port}`
  return `http://${h.includes(':') ? `[${h}]` : h}:${port}`
}

/**
 * One line for the start-up log saying which signing mode is active and why, and how to switch.
 * Holds no secret.
 *
 * @example
 * app.log.info({ signing: config.signing }, describeSigning(config))
 */
export function describeSigning(config: { readonly signing: Signing }): string {
  const { signing } = config
  if (signing.mode === 'keyring')
    return `signing ${signing.algorithm} tokens with the keyring's keys (${signing.source === 'default' ? 'the default for a new installation' : 'JWT_ALGORITHM'}); public keys at /.well-known/jwks.json`
  switch (signing.source) {
    case 'jwt-secret file':
      return 'signing HS256 tokens with the secret saved in the data directory (an existing installation keeps HS256: switching signs everyone out); to switch to asymmetric keys, set JWT_ALGORITHM=ES256'
    case 'JWT_SECRET':
      return 'signing HS256 tokens with JWT_SECRET; to switch to asymmetric keys (a JWKS for resource servers), unset JWT_SECRET and set JWT_ALGORITHM=ES256'
    default:
      return 'signing HS256 tokens (JWT_ALGORITHM=HS256)'
  }
}
