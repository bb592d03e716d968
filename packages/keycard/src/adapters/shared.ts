/** What both adapters share: their options and the implicit-refresh decision. */

import { toSeconds, type Duration } from '../duration.ts'
import { KeycardOptionError } from '../errors.ts'
import type { Keycard, ResolvedGuard } from '../keycard.ts'
import type { ResolvedOptions } from '../options.ts'
import type { JwtContext } from '../types.ts'

export interface AdapterOptions<User> {
  /**
   * Re-issue the access cookie when a cookie-borne access token is within `within` of expiring, so
   * a browser session never lapses mid-use (FJE's implicit-refresh pattern, built in). `mint` makes
   * the new token (default: `createAccessToken(identity)`, not fresh), or `undefined` to skip this one;
   * pass it to keep custom claims.
   * A response that unsets the cookies (a logout) drops the re-issued cookie.
   */
  implicitRefresh?: { within: Duration; mint?: (context: JwtContext<User>) => Promise<string | undefined> }
}

/** A function that returns a replacement access token when one is due, or undefined. */
export type Refresher<User> = (context: JwtContext<User>) => Promise<string | undefined>

export function implicitRefresher<User>(keycard: Keycard<User>, options: AdapterOptions<User> | undefined): Refresher<User> | undefined {
  const config = options?.implicitRefresh
  if (config === undefined) return undefined
  const within = toSeconds(config.within)
  if (within === undefined || within <= 0)
    throw new KeycardOptionError(
      'implicitRefresh.within',
      `expected a positive duration such as '5m', got ${JSON.stringify(config.within)}.`,
    )
  if (config.mint !== undefined && typeof config.mint !== 'function')
    throw new KeycardOptionError('implicitRefresh.mint', 'expected a function (context) => Promise<string>.')
  const mint: (context: JwtContext<User>) => Promise<string | undefined> =
    config.mint ?? ((context) => keycard.createAccessToken(context.identity))
  return async (context) => {
    const { claims } = context
    if (context.location !== 'cookies' || claims.type !== 'access' || typeof claims.exp !== 'number') return undefined
    return claims.exp - Date.now() / 1000 <= within ? mint(context) : undefined
  }
}

/**
 * Whether a guard ever reads the parsed body: the `json` location, or a CSRF value sent as a form
 * field with a cookie. Decided once per route, so other guards never touch the framework's `body`.
 */
export function needsBody(guard: ResolvedGuard, options: ResolvedOptions): boolean {
  return guard.locations.includes('json') || (guard.locations.includes('cookies') && options.csrfProtect && options.csrfCheckForm)
}
