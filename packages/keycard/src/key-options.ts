/**
 * The option checks of keys mode (`keys`, `signingKid`) and jwks mode (`jwks`, `jwksOptions`), run by
 * `resolveOptions` before anything is imported or fetched. Both modes replace the single-key options:
 * each key pins its own algorithm, so `algorithm`, `decodeAlgorithms` and the key options are refused.
 */

import type { JSONWebKeySet } from 'jose'
import { toSeconds, type Duration } from './duration.ts'
import { KeycardOptionError } from './errors.ts'
import { checkKeyEntries, type KeyEntry } from './keyring.ts'
import { ALGORITHMS, isHmac, type Algorithm } from './keys.ts'

/**
 * Options of a remote key set (`jwks` URL); durations are seconds or strings such as `'30s'`.
 *
 * @example
 * await createKeycard({ jwks: 'https://auth.example.com/.well-known/jwks.json', jwksOptions: { cooldown: '10s', timeout: '2s' } })
 */
export interface JwksOptions {
  /** Least time between two fetches (an unknown kid within it is refused without fetching). Default 30 s. */
  cooldown?: Duration
  /** Cache lifetime when the response has no `Cache-Control: max-age`. Default 10 minutes. */
  maxAge?: Duration
  /** How long past expiry cached keys still verify while refetches fail. Default 1 hour. */
  maxStale?: Duration
  /** Per fetch, headers and body included. Default 5 s. */
  timeout?: Duration
  /** Replaces the global `fetch` (a proxy, a custom agent). */
  fetch?: typeof fetch
}

/**
 * `jwksOptions` after defaults, in seconds.
 *
 * @example
 * const resolved: ResolvedJwksOptions = { cooldown: 30, maxAge: 600, maxStale: 3600, timeout: 5, fetch: undefined }
 */
export interface ResolvedJwksOptions {
  readonly cooldown: number
  readonly maxAge: number
  readonly maxStale: number
  readonly timeout: number
  readonly fetch: typeof fetch | undefined
}

/**
 * What the keyed-mode checks found: the mode, and the algorithms `ResolvedOptions` reports.
 *
 * @example
 * const mode: KeyMode = resolveKeyMode({ jwks: 'https://auth.example.com/.well-known/jwks.json' }) // { mode: 'jwks', … }
 */
export type KeyMode =
  | { mode: 'single' }
  | { mode: 'keys'; algorithm: Algorithm; decodeAlgorithms: readonly Algorithm[]; signingKid: string | undefined }
  | { mode: 'jwks'; algorithm: Algorithm; decodeAlgorithms: readonly Algorithm[]; url: URL | undefined; jwks: ResolvedJwksOptions }

/** Options keys and jwks mode replace. */
const SINGLE_KEY_OPTIONS = ['secret', 'privateKey', 'publicKey', 'decodeKey', 'encodeKey', 'algorithm', 'decodeAlgorithms'] as const

const ASYMMETRIC = ALGORITHMS.filter((alg) => !isHmac(alg))

interface KeyedOptions {
  keys?: readonly KeyEntry[]
  signingKid?: string
  jwks?: string | URL | JSONWebKeySet
  jwksOptions?: JwksOptions
}

/**
 * Which key mode the options ask for, checked; throws KeycardOptionError naming the option and the fix.
 *
 * @example
 * resolveKeyMode({ keys: [{ kid: 'a', algorithm: 'ES256', privateKey }] }) // { mode: 'keys', signingKid: 'a', … }
 */
export function resolveKeyMode(options: KeyedOptions): KeyMode {
  const { keys, jwks } = options
  if (keys === undefined && jwks === undefined) {
    for (const name of ['signingKid', 'jwksOptions'] as const) {
      if (options[name] !== undefined)
        throw new KeycardOptionError(name, `only applies with "${name === 'signingKid' ? 'keys' : 'jwks'}"; drop it or add that option.`)
    }
    return { mode: 'single' }
  }
  if (keys !== undefined && jwks !== undefined)
    throw new KeycardOptionError(
      'jwks',
      'cannot be combined with "keys": a keycard verifies either with its own keys or with a key set it fetches. Use one keycard for each.',
    )
  const mode = keys !== undefined ? 'keys' : 'jwks'
  for (const name of SINGLE_KEY_OPTIONS) {
    if ((options as Record<string, unknown>)[name] !== undefined)
      throw new KeycardOptionError(
        name,
        `cannot be combined with "${mode}": ${mode === 'keys' ? 'each entry of "keys" pins its own algorithm and key material' : 'the key set gives the keys and pins their algorithms'}; drop "${name}".`,
      )
  }
  if (keys !== undefined) {
    if (options.jwksOptions !== undefined) throw new KeycardOptionError('jwksOptions', 'only applies with "jwks"; drop it.')
    const signingKid = checkKeyEntries(keys, options.signingKid, 'keys')
    const algorithms = [...new Set(keys.map((entry) => entry.algorithm))]
    const algorithm = keys.find((entry) => entry.kid === signingKid)?.algorithm ?? algorithms[0] ?? 'ES256'
    return { mode: 'keys', algorithm, decodeAlgorithms: Object.freeze(algorithms.length ? algorithms : [algorithm]), signingKid }
  }
  if (options.signingKid !== undefined)
    throw new KeycardOptionError('signingKid', 'a keycard made with "jwks" only verifies; drop "signingKid".')
  return {
    mode: 'jwks',
    algorithm: 'ES256',
    decodeAlgorithms: Object.freeze([...ASYMMETRIC]),
    url: jwksUrl(jwks),
    jwks: resolveJwksOptions(options.jwksOptions),
  }
}

/** The URL to fetch, or undefined for a key set given as an object (checked when imported). */
function jwksUrl(jwks: unknown): URL | undefined {
  if (jwks !== null && typeof jwks === 'object' && !(jwks instanceof URL)) {
    if (!Array.isArray((jwks as { keys?: unknown }).keys))
      throw new KeycardOptionError('jwks', 'expected a URL or a key set object { keys: [...] }; the object has no "keys" array.')
    return undefined
  }
  let url: URL
  try {
    url = new URL(jwks instanceof URL ? jwks.href : String(jwks))
  } catch {
    throw new KeycardOptionError(
      'jwks',
      `expected the URL of a key set such as 'https://auth.example.com/.well-known/jwks.json', or a key set object; got ${typeof jwks === 'string' ? 'a string that is not a URL' : typeof jwks}.`,
    )
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:')
    throw new KeycardOptionError('jwks', `the key set URL must be http: or https:, got ${url.protocol}`)
  return url
}

function duration(name: string, value: unknown, fallback: number, min: number): number {
  if (value === undefined) return fallback
  const seconds = toSeconds(value)
  if (seconds === undefined || seconds < min)
    throw new KeycardOptionError(
      `jwksOptions.${name}`,
      `expected ${min > 0 ? 'a positive' : 'a'} number of seconds or a duration such as '30s' or '10m', got ${JSON.stringify(value)}.`,
    )
  return seconds
}

const JWKS_OPTION_KEYS = new Set(['cooldown', 'maxAge', 'maxStale', 'timeout', 'fetch'])

function resolveJwksOptions(given: unknown): ResolvedJwksOptions {
  if (given === undefined) given = {}
  if (given === null || typeof given !== 'object') throw new KeycardOptionError('jwksOptions', `expected an object, got ${typeof given}.`)
  for (const key of Object.keys(given)) {
    if (!JWKS_OPTION_KEYS.has(key))
      throw new KeycardOptionError(`jwksOptions.${key}`, `is not a jwksOptions field; use ${[...JWKS_OPTION_KEYS].join(', ')}.`)
  }
  const o = given as JwksOptions
  if (o.fetch !== undefined && typeof o.fetch !== 'function')
    throw new KeycardOptionError('jwksOptions.fetch', `expected a function with the signature of fetch, got ${typeof o.fetch}.`)
  return Object.freeze({
    cooldown: duration('cooldown', o.cooldown, 30, 0),
    maxAge: duration('maxAge', o.maxAge, 600, 0),
    maxStale: duration('maxStale', o.maxStale, 3600, 0),
    timeout: duration('timeout', o.timeout, 5, 0.001),
    fetch: o.fetch,
  })
}
