/**
 * The throttle's configuration: THROTTLE_* limits (`N/DURATION` or `off`), THROTTLE_BURST, and
 * TRUST_PROXY (who may tell us the client's address through X-Forwarded-For). Parsed once by
 * `loadConfig` (config.ts), which reports every problem at once.
 */

import { isIP } from 'node:net'
import { toSeconds } from 'keycard'

/**
 * What is counted: failed logins per account, per client address, per (account, address), per device
 * token; registrations and password changes per address.
 *
 * @example
 * const kind: LimitKind = 'account_address'
 */
export type LimitKind = 'account' | 'address' | 'account_address' | 'device' | 'register' | 'password'

/**
 * At most `max` counted attempts per fixed window of `window` seconds.
 *
 * @example
 * const limit: Limit = { max: 40, window: 3600 } // THROTTLE_ACCOUNT=40/1h
 */
export interface Limit {
  readonly max: number
  readonly window: number
}

/**
 * Every limit (null = `off`) and the burst allowance.
 *
 * @example
 * const throttle: ThrottleConfig = parseThrottle([], {}) // the defaults
 * throttle.limits.account // { max: 40, window: 3600 }
 */
export interface ThrottleConfig {
  readonly limits: Readonly<Record<LimitKind, Limit | null>>
  /** Attempts allowed in flight past a limit (reserved, not yet settled): concurrent logins of one client. */
  readonly burst: number
}

/**
 * TRUST_PROXY as Fastify's `trustProxy` takes it: false (the socket's address only), true (believe
 * every X-Forwarded-For hop), or the addresses and CIDRs of the trusted proxies. (No hop count: Fastify 5
 * ignores X-Forwarded-For with one, as it cannot check the immediate peer.)
 *
 * @example
 * const trust: TrustProxy = ['10.0.0.0/8', 'loopback']
 */
export type TrustProxy = boolean | string[]

/**
 * The variable of each limit and its default.
 *
 * @example
 * LIMIT_VARIABLES.account // ['THROTTLE_ACCOUNT', '40/1h']
 */
export const LIMIT_VARIABLES: Readonly<Record<LimitKind, readonly [variable: string, fallback: string]>> = Object.freeze({
  account: ['THROTTLE_ACCOUNT', '40/1h'],
  address: ['THROTTLE_ADDRESS', '100/1h'],
  account_address: ['THROTTLE_ACCOUNT_ADDRESS', '10/15m'],
  device: ['THROTTLE_DEVICE', '10/15m'],
  register: ['THROTTLE_REGISTER', '20/1h'],
  password: ['THROTTLE_PASSWORD', '10/1h'],
})

/** Default of THROTTLE_BURST. */
export const DEFAULT_BURST = 10
/** OWASP ASVS 4.0.3 V2.2.1: at most this many failed attempts per account per hour. */
export const ASVS_FAILURES_PER_HOUR = 100

const LIMIT_FORMAT = /^(\d{1,9})\s*\/\s*(\S+)$/
const HOUR = 3600

type Env = Record<string, string | undefined>

/**
 * A limit as written (`5/10m`, `40/1h`, `off`); a string saying what is wrong otherwise.
 *
 * @example
 * parseLimit('5/10m') // { max: 5, window: 600 }
 * parseLimit('off')   // null
 */
export function parseLimit(raw: string): Limit | null | string {
  const value = raw.trim()
  if (value.toLowerCase() === 'off') return null
  const match = LIMIT_FORMAT.exec(value)
  const max = match ? Number(match[1]) : Number.NaN
  const window = match ? toSeconds(match[2]) : undefined
  if (!(max >= 1) || window === undefined || !Number.isInteger(window) || window < 1)
    return 'expected N/DURATION (N at least 1, a duration of whole seconds, at least 1s, in s, m, h, d or w), such as 5/10m, or off'
  return { max, window }
}

/**
 * The THROTTLE_* variables of `env`, defaults for those unset; pushes one line per bad variable onto `problems`.
 *
 * @example
 * const problems: string[] = []
 * const throttle = parseThrottle(problems, { THROTTLE_ACCOUNT: '3/1h' })
 */
export function parseThrottle(problems: string[], env: Env): ThrottleConfig {
  const limits = {} as Record<LimitKind, Limit | null>
  for (const [kind, [variable, fallback]] of Object.entries(LIMIT_VARIABLES) as [LimitKind, readonly [string, string]][]) {
    const raw = env[variable]
    const parsed = parseLimit(raw === undefined || raw.trim() === '' ? fallback : raw)
    if (typeof parsed === 'string') {
      problems.push(`${variable}: ${parsed}; got ${JSON.stringify(raw)}`)
      limits[kind] = parseLimit(fallback) as Limit
    } else limits[kind] = parsed
  }
  let burst = DEFAULT_BURST
  const raw = env.THROTTLE_BURST?.trim()
  if (raw !== undefined && raw !== '') {
    if (/^\d{1,6}$/.test(raw)) burst = Number(raw)
    else
      problems.push(
        `THROTTLE_BURST: expected a whole number of attempts from 0 to 999999, such as 10; got ${JSON.stringify(env.THROTTLE_BURST)}`,
      )
  }
  return Object.freeze({ limits: Object.freeze(limits), burst })
}

/**
 * The most failed logins one account can take in any 60-minute span from clients without a device
 * token: fixed windows, so a span covers at most ⌈3600 / window⌉ + 1 of them, each allowing the limit
 * plus the burst. Infinity when THROTTLE_ACCOUNT is off.
 *
 * @example
 * accountFailuresPerHour(parseThrottle([], {})) // 100: 2 windows × (40 + 10)
 */
export function accountFailuresPerHour(throttle: ThrottleConfig): number {
  const limit = throttle.limits.account
  if (!limit) return Number.POSITIVE_INFINITY
  return (Math.ceil(HOUR / limit.window) + 1) * (limit.max + throttle.burst)
}

/**
 * The start-up warning the configuration deserves, or undefined: when an account can take more than
 * ASVS's 100 failed logins an hour.
 *
 * @example
 * throttleWarning(parseThrottle([], { THROTTLE_ACCOUNT: 'off' })) // 'THROTTLE_ACCOUNT is off: …'
 */
export function throttleWarning(throttle: ThrottleConfig): string | undefined {
  const perHour = accountFailuresPerHour(throttle)
  if (perHour <= ASVS_FAILURES_PER_HOUR) return undefined
  if (!Number.isFinite(perHour))
    return 'THROTTLE_ACCOUNT is off: failed logins per account are not limited (OWASP ASVS 4.0.3 V2.2.1 allows at most 100 an hour)'
  return `THROTTLE_ACCOUNT and THROTTLE_BURST allow up to ${perHour} failed logins per account in an hour, more than the ${ASVS_FAILURES_PER_HOUR} OWASP ASVS 4.0.3 V2.2.1 allows`
}

/** proxy-addr's named ranges. */
const NAMED_RANGES = new Set(['loopback', 'linklocal', 'uniquelocal'])

/** Why one TRUST_PROXY entry is not an address, a CIDR, an IPv4 address/netmask or a named range; undefined when it is. */
function proxyEntryProblem(entry: string): string | undefined {
  if (NAMED_RANGES.has(entry)) return undefined
  const slash = entry.lastIndexOf('/')
  const address = slash === -1 ? entry : entry.slice(0, slash)
  const family = isIP(address)
  if (family === 0) return `${JSON.stringify(entry)} is not an IP address`
  if (slash === -1) return undefined
  const range = entry.slice(slash + 1)
  const max = family === 4 ? 32 : 128
  if (/^\d{1,3}$/.test(range) && Number(range) >= 1 && Number(range) <= max) return undefined
  if (family === 4 && isIP(range) === 4) return undefined
  return `${JSON.stringify(entry)} has a bad prefix length (1 to ${max}${family === 4 ? ', or a netmask such as 255.255.255.0' : ''})`
}

/**
 * TRUST_PROXY: `false` (default), `true`, or a comma list of addresses, CIDRs and the named ranges
 * loopback, linklocal, uniquelocal; pushes a line onto `problems` for anything else. A hop count is
 * refused: Fastify 5 would accept it and then ignore X-Forwarded-For, so every client behind the proxy
 * would share the proxy's address (and its address limit).
 *
 * @example
 * parseTrustProxy([], { TRUST_PROXY: '10.0.0.0/8, loopback' }) // ['10.0.0.0/8', 'loopback']
 */
export function parseTrustProxy(problems: string[], env: Env): TrustProxy {
  const raw = env.TRUST_PROXY?.trim()
  if (raw === undefined || raw === '') return false
  const lower = raw.toLowerCase()
  if (lower === 'true' || lower === 'false') return lower === 'true'
  const expected = 'expected true, false, or a comma-separated list of proxy addresses and CIDRs (such as 10.0.0.1, 10.0.0.0/8, loopback)'
  if (/^\d+$/.test(raw)) {
    problems.push(
      `TRUST_PROXY: ${expected}; a hop count (${raw}) is not supported: Fastify ignores X-Forwarded-For then (it cannot check that the request came through the proxy), so name the proxy's addresses, or use true when only the proxy can reach this server`,
    )
    return false
  }
  const entries = raw.split(',').map((e) => e.trim())
  const bad = entries.map((e) => (e === '' ? 'an empty entry' : proxyEntryProblem(e))).find((p) => p !== undefined)
  if (bad === undefined) return entries
  problems.push(`TRUST_PROXY: ${expected}; ${bad}`)
  return false
}
