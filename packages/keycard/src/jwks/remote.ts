/**
 * A key set fetched from a URL and cached, for resource servers (`createKeycard({ jwks: url })`).
 *
 * - The set is kept for the response's `Cache-Control: max-age` (else `maxAge`). Past that, the first
 *   verification starts ONE background refetch (with `If-None-Match` when an ETag came) while known
 *   kids keep verifying synchronously from the stale set, for at most `maxStale` past expiry.
 * - An unknown kid refetches, unless a fetch started within `cooldown`; at most one fetch is in
 *   flight, and everything that needs it waits on that one.
 * - No timers: fetches start from verifications (and the first from the constructor), so nothing keeps
 *   the process alive. The per-fetch timeout is an `AbortSignal.timeout`, whose timer is unref'd.
 * - Credentials in the URL (`https://user:pass@…`) are sent as HTTP Basic authentication.
 * - A failure never turns into accepting a token: when the keys a token needs cannot be vouched for,
 *   verification throws `JwksUnavailableError` (503), naming the URL (origin and path) and the reason.
 */

import type { JWK } from 'jose'
import { unknownKid, type KeySource, type VerificationKey } from '../keyring.ts'
import { ALGORITHMS, isHmac } from '../keys.ts'
import type { ResolvedJwksOptions } from '../key-options.ts'
import { JwksUnavailableError } from './errors.ts'
import { importKeySet } from './import.ts'

/**
 * A key set larger than this is refused (a real one is a few kilobytes).
 *
 * @example
 * if (body.length > MAX_JWKS_BYTES) throw new Error('too large')
 */
export const MAX_JWKS_BYTES = 1024 * 1024

const ASYMMETRIC = new Set<string>(ALGORITHMS.filter((alg) => !isHmac(alg)))

/** A failed fetch, with the reason printed in the 503's message. */
class FetchFailure extends Error {}

/**
 * The key source of `createKeycard({ jwks: url })`; see the module comment for the cache rules.
 *
 * @example
 * const source = new RemoteKeySet(new URL('https://auth.example.com/.well-known/jwks.json'), resolvedJwksOptions)
 * const key = source.current(kid) ?? (await source.resolve(kid))
 */
export class RemoteKeySet implements KeySource {
  /** Without credentials: fetch refuses a URL holding them (they go in `#authorization`). */
  readonly #url: URL
  readonly #authorization: string | undefined
  /** Origin and path: never credentials or a query (which may hold an API key). */
  readonly #printable: string
  readonly #options: ResolvedJwksOptions
  /** The last set fetched, by kid (undefined until a fetch succeeds). */
  #keys: ReadonlyMap<string, VerificationKey> | undefined
  /** Epoch ms after which the set is stale. */
  #expiresAt = 0
  #etag: string | undefined
  /** Epoch ms when the last fetch started (cooldown is measured from it). */
  #lastFetch = Number.NEGATIVE_INFINITY
  /** Why the last fetch failed; undefined when it succeeded. */
  #lastError: string | undefined
  #inFlight: Promise<void> | undefined

  constructor(url: URL, options: ResolvedJwksOptions) {
    this.#url = new URL(url.href)
    if (url.username !== '' || url.password !== '') {
      const credentials = `${decodeURIComponent(url.username)}:${decodeURIComponent(url.password)}`
      this.#authorization = `Basic ${Buffer.from(credentials).toString('base64')}`
      this.#url.username = ''
      this.#url.password = ''
    }
    this.#printable = `${url.origin}${url.pathname}`
    this.#options = options
    this.#start()
  }

  current(kid: string): VerificationKey | undefined {
    const keys = this.#keys
    if (keys === undefined) return undefined
    const now = Date.now()
    if (now >= this.#expiresAt) {
      // Too stale to vouch for: resolve() must fetch (or fail).
      if (now >= this.#expiresAt + this.#options.maxStale * 1000) return undefined
      if (this.#inFlight === undefined && this.#coolingUntil() <= now) this.#start()
    }
    return keys.get(kid)
  }

  resolve(kid: string): VerificationKey | Promise<VerificationKey> {
    if (this.#inFlight !== undefined) return this.#inFlight.then(() => this.#after(kid))
    if (this.#coolingUntil() <= Date.now()) return this.#start().then(() => this.#after(kid))
    return this.#after(kid)
  }

  accepts(alg: string): boolean {
    // Never HMAC from a key set: an HS* token with an unknown kid is refused without fetching.
    return ASYMMETRIC.has(alg)
  }

  jwks(): { keys: JWK[] } {
    return { keys: [...(this.#keys?.values() ?? [])].flatMap((key) => (key.jwk ? [{ ...key.jwk }] : [])) }
  }

  /** The answer once no fetch can help any more: the key, KID_UNKNOWN, or JWKS_UNAVAILABLE. */
  #after(kid: string): VerificationKey {
    const now = Date.now()
    const keys = this.#keys
    const usable = keys !== undefined && now < this.#expiresAt + this.#options.maxStale * 1000
    const key = usable ? keys.get(kid) : undefined
    if (key !== undefined) return key
    // The set is gone, or the refetch this kid needed failed: it may be a good key we cannot see.
    if (!usable || this.#lastError !== undefined) {
      const reason = this.#lastError ?? `the cached key set expired over ${this.#options.maxStale} s ago`
      throw new JwksUnavailableError(this.#printable, reason, (this.#coolingUntil() - now) / 1000)
    }
    throw unknownKid()
  }

  #coolingUntil(): number {
    return this.#lastFetch + this.#options.cooldown * 1000
  }

  /** Starts the one fetch; the promise never rejects (the outcome is in the state). */
  #start(): Promise<void> {
    this.#lastFetch = Date.now()
    const done = this.#load().then(
      () => {
        this.#lastError = undefined
      },
      (err: unknown) => {
        this.#lastError = describeFailure(err, this.#options.timeout)
      },
    )
    this.#inFlight = done.finally(() => {
      this.#inFlight = undefined
    })
    return this.#inFlight
  }

  async #load(): Promise<void> {
    const timeout = this.#options.timeout
    const signal = AbortSignal.timeout(Math.ceil(timeout * 1000))
    const headers: Record<string, string> = { accept: 'application/jwk-set+json, application/json' }
    if (this.#authorization !== undefined) headers.authorization = this.#authorization
    if (this.#etag !== undefined && this.#keys !== undefined) headers['if-none-match'] = this.#etag
    const fetchFn = this.#options.fetch ?? fetch
    const response = await fetchFn(this.#url, { headers, signal, redirect: 'follow' })
    if (response.status === 304 && this.#keys !== undefined) {
      await response.body?.cancel()
      this.#expiresAt = Date.now() + lifetime(response, this.#options.maxAge) * 1000
      return
    }
    if (response.status !== 200) {
      await response.body?.cancel()
      throw new FetchFailure(`HTTP ${response.status}`)
    }
    const text = await readCapped(response)
    let json: unknown
    try {
      json = JSON.parse(text)
    } catch {
      throw new FetchFailure('the response is not JSON')
    }
    const keys = await importKeySet(json, this.#keys)
    if (keys === undefined) throw new FetchFailure('the response has no "keys" array')
    this.#keys = keys
    this.#etag = response.headers.get('etag') ?? undefined
    this.#expiresAt = Date.now() + lifetime(response, this.#options.maxAge) * 1000
  }
}

/** Seconds the response may be cached: its `Cache-Control: max-age`, else `fallback`. */
function lifetime(response: Response, fallback: number): number {
  const match = /(?:^|,)\s*max-age\s*=\s*"?(\d+)"?\s*(?:,|$)/i.exec(response.headers.get('cache-control') ?? '')
  return match ? Number(match[1]) : fallback
}

/** The body as text, refused past MAX_JWKS_BYTES (declared or actual), without buffering more than that. */
async function readCapped(response: Response): Promise<string> {
  const tooLarge = () => new FetchFailure(`the response is over ${MAX_JWKS_BYTES / (1024 * 1024)} MB`)
  const declared = Number(response.headers.get('content-length'))
  if (declared > MAX_JWKS_BYTES) {
    await response.body?.cancel()
    throw tooLarge()
  }
  if (response.body === null) return ''
  const reader = response.body.getReader()
  const chunks: Uint8Array[] = []
  let size = 0
  for (;;) {
    const { done, value } = await reader.read()
    if (done) break
    size += value.byteLength
    if (size > MAX_JWKS_BYTES) {
      await reader.cancel()
      throw tooLarge()
    }
    chunks.push(value)
  }
  return Buffer.concat(chunks).toString('utf8')
}

/** A failure's reason as printed: what failed, never the URL's credentials or the body. */
function describeFailure(err: unknown, timeout: number): string {
  if (err instanceof FetchFailure) return err.message
  const name = (err as { name?: unknown })?.name
  if (name === 'TimeoutError' || name === 'AbortError') return `no complete answer within ${timeout} s`
  const cause = (err as { cause?: { code?: unknown } })?.cause
  const code = typeof cause?.code === 'string' ? cause.code : undefined
  return code ? `the request failed (${code})` : 'the request failed'
}
