/**
 * Where the API is. The server serves this page at its own origin, and the page calls it there. Built
 * and served from another origin, the page is told the server's URL by index.html's
 * `<meta name="keycard-api" content="https://auth.example.com">`; the server must then list this
 * page's origin in CORS_ORIGINS. This module also words the errors only a page on another origin meets.
 */

export interface ApiLocation {
  /** The prefix of every call: '' (this page's origin) or the configured URL, without a trailing slash. */
  readonly base: string
  /** The server's origin when it is not this page's; undefined when they are the same. */
  readonly crossOrigin: string | undefined
  /** Why the configured URL cannot be used, as a sentence to show; undefined when it can. */
  readonly problem: string | undefined
}

/**
 * The API's location from the `keycard-api` meta tag (absent or empty: this page's origin).
 *
 * @example
 * ```ts
 * const where = apiLocation() // { base: 'http://localhost:3000', crossOrigin: 'http://localhost:3000', problem: undefined }
 * ```
 */
export function apiLocation(doc: Document = document, here: Location = location): ApiLocation {
  const configured = doc.querySelector<HTMLMetaElement>('meta[name="keycard-api"]')?.content.trim() ?? ''
  if (configured === '') return { base: '', crossOrigin: undefined, problem: undefined }
  let url: URL
  try {
    url = new URL(configured)
  } catch {
    url = new URL('invalid:')
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:')
    return {
      base: '',
      crossOrigin: undefined,
      problem: `This page is set up to call the server at "${configured}", which is not an http or https URL: fix the keycard-api meta tag of its index.html.`,
    }
  const base = `${url.origin}${url.pathname.replace(/\/+$/, '')}`
  return { base, crossOrigin: url.origin === here.origin ? undefined : url.origin, problem: undefined }
}

/**
 * Why a call to a server on another origin failed without an answer: fetch cannot tell a refused CORS
 * check from a network failure, but an opaque (`no-cors`) request can: it succeeds whenever the
 * server answers at all.
 *
 * @example
 * ```ts
 * const { code, message } = await unreachable('http://localhost:3000')
 * ```
 */
export async function unreachable(
  apiOrigin: string,
  here: Location = location,
): Promise<{ code: 'ORIGIN_NOT_ALLOWED' | 'NETWORK_ERROR'; message: string }> {
  try {
    await fetch(`${apiOrigin}/healthz`, { mode: 'no-cors', credentials: 'omit', cache: 'no-store' })
  } catch {
    return {
      code: 'NETWORK_ERROR',
      message: `Could not reach the server at ${apiOrigin}. Check your connection and that the server is running, then try again.`,
    }
  }
  return {
    code: 'ORIGIN_NOT_ALLOWED',
    message:
      `The server at ${apiOrigin} does not accept calls from this page's origin (${here.origin}). ` +
      `Its operator can allow them by adding ${here.origin} to the server's CORS_ORIGINS.`,
  }
}

/**
 * Why a page on another origin sees no sign-in cookies after signing in, when that is the reason: it
 * reads the CSRF cookie the server set, and cookies belong to a host name (not to a port), so the
 * page must be on the server's host name, or the server must set a COOKIE_DOMAIN both share.
 * Undefined when the host names are the same.
 *
 * @example
 * ```ts
 * const why = otherHostCookies('http://127.0.0.1:3000') // on http://localhost:5173: a sentence
 * ```
 */
export function otherHostCookies(apiOrigin: string, here: Location = location): string | undefined {
  const host = new URL(apiOrigin).hostname
  if (host === here.hostname) return undefined
  return (
    `The server at ${apiOrigin} signed you in, but this page (${here.origin}) cannot use its sign-in cookies: ` +
    `they belong to ${host}, and cookie mode needs this page on that same host name (another port is fine), ` +
    'or the server started with a COOKIE_DOMAIN that both host names share.'
  )
}
