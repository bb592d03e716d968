/**
 * CORS_ORIGINS: the exact origins (`scheme://host[:port]`) whose pages may call this server from the
 * browser. Checked once at start (config.ts); each problem says how to write the entry instead.
 */

/** An origin as a browser sends it in `Origin`: http(s), a host, an optional port, nothing after. */
const ORIGIN_SHAPE = /^[a-z][a-z0-9+.-]*:\/\/[^/?#\s]+$/i

/**
 * One CORS_ORIGINS entry, normalized as browsers serialize origins (lower-case host, no default port),
 * or throws a message that says how to write it.
 *
 * @example
 * corsOrigin('https://App.example.com:443') // 'https://app.example.com'
 * corsOrigin('https://app.example.com/')    // throws: no trailing slash …
 */
export function corsOrigin(entry: string): string {
  const example = 'such as https://app.example.com or http://localhost:5173'
  if (entry.includes('*')) throw new Error(`${JSON.stringify(entry)}: wildcards are not allowed; list every origin exactly, ${example}`)
  if (entry.toLowerCase() === 'null')
    throw new Error('"null" is the origin of sandboxed frames and file: pages, which any site can make; list real origins only')
  let url: URL
  try {
    url = new URL(entry)
  } catch {
    throw new Error(`${JSON.stringify(entry)} is not an origin: expected scheme://host[:port], ${example}`)
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:')
    throw new Error(`${JSON.stringify(entry)}: only http and https origins can be listed, ${example}`)
  if (/^[a-z]+:\/\/[^/?#]+\/$/i.test(entry))
    throw new Error(`${JSON.stringify(entry)}: an origin has no trailing slash; write ${url.origin}`)
  if (!ORIGIN_SHAPE.test(entry) || url.username !== '' || url.password !== '')
    throw new Error(`${JSON.stringify(entry)}: an origin is only scheme://host[:port], without a path, query or user; write ${url.origin}`)
  return url.origin
}

/**
 * CORS_ORIGINS parsed: a comma-separated list, unset or empty meaning none (no CORS headers at all).
 * Bad entries are pushed to `problems`, one line each, and left out.
 *
 * @example
 * parseCorsOrigins(problems, { CORS_ORIGINS: 'https://app.example.com, http://localhost:5173' })
 * // ['https://app.example.com', 'http://localhost:5173']
 */
export function parseCorsOrigins(problems: string[], env: Record<string, string | undefined>): readonly string[] {
  const raw = env.CORS_ORIGINS?.trim()
  if (!raw) return Object.freeze([])
  const origins = new Set<string>()
  for (const item of raw.split(',')) {
    const entry = item.trim()
    if (entry === '') {
      problems.push(
        `CORS_ORIGINS: an empty entry (two commas in a row, or one at an end) in ${JSON.stringify(env.CORS_ORIGINS)}; remove it`,
      )
      continue
    }
    try {
      origins.add(corsOrigin(entry))
    } catch (err) {
      problems.push(`CORS_ORIGINS: ${(err as Error).message}`)
    }
  }
  return Object.freeze([...origins])
}
