/**
 * COOKIE_DOMAIN: the `Domain` of the sign-in cookies, for an account page on a sibling host of the
 * server's (app.example.com beside api.example.com): with `Domain=example.com` the page can read the
 * CSRF cookie it must echo. Unset, the cookies belong to the server's host alone (the default).
 */

/** One DNS label: letters, digits and inner hyphens, at most 63 characters. */
const LABEL = /^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/

/**
 * COOKIE_DOMAIN checked, lower-cased and without a leading dot; undefined when unset or empty. A bad
 * value is pushed to `problems` with what to write instead.
 *
 * @example
 * parseCookieDomain(problems, { COOKIE_DOMAIN: '.Example.com' }) // 'example.com'
 */
export function parseCookieDomain(problems: string[], env: Record<string, string | undefined>): string | undefined {
  const raw = env.COOKIE_DOMAIN?.trim()
  if (!raw) return undefined
  const domain = raw.toLowerCase().replace(/^\./, '')
  const got = JSON.stringify(env.COOKIE_DOMAIN)
  if (/[:/]/.test(domain)) {
    problems.push(`COOKIE_DOMAIN: expected a domain name such as example.com, without scheme, port or path; got ${got}`)
    return undefined
  }
  if (/^\d+(\.\d+){3}$/.test(domain)) {
    problems.push(`COOKIE_DOMAIN: an IP address has no subdomains to share cookies with; leave COOKIE_DOMAIN unset, got ${got}`)
    return undefined
  }
  const labels = domain.split('.')
  if (domain.length > 253 || !labels.every((label) => LABEL.test(label))) {
    problems.push(`COOKIE_DOMAIN: expected a domain name such as example.com (letters, digits, hyphens and dots); got ${got}`)
    return undefined
  }
  if (labels.length < 2) {
    problems.push(
      `COOKIE_DOMAIN: expected the domain the server and the page share, such as example.com; browsers refuse a single label such as ${got}`,
    )
    return undefined
  }
  return domain
}
