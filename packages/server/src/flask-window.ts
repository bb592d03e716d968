/**
 * ACCEPT_FLASK_TOKENS_UNTIL, checked by loadConfig (config.ts): until when the server also accepts the
 * tokens a Flask-JWT-Extended service signed with the same secret (src/flask-tokens.ts does the rest).
 */

import type { Signing } from './config-signing.ts'

type Env = Record<string, string | undefined>

const DATE = /^(\d{4})-(\d{2})-(\d{2})$/
const DATE_TIME = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})(?::(\d{2})(?:\.\d{1,9})?)?(Z|[+-]\d{2}:\d{2})$/i
const EXAMPLES = 'such as 2027-03-31 (through the end of that day, UTC) or 2027-03-31T18:00:00Z'

/**
 * The end of the window in epoch seconds (tokens are refused from then on), or null when the variable
 * is unset. A date alone means through the end of that day, UTC; a date and time needs its zone (`Z` or
 * `+02:00`), so that no instance reads it in its own. Pushes a problem for anything else, and when the
 * server does not sign with a shared JWT_SECRET (the only way to verify what the Flask service signed).
 *
 * @example
 * parseFlaskTokensUntil(problems, { ACCEPT_FLASK_TOKENS_UNTIL: '2027-03-31' }, signing, secret) // 1806537600
 */
export function parseFlaskTokensUntil(problems: string[], env: Env, signing: Signing, jwtSecret: string | undefined): number | null {
  const raw = env.ACCEPT_FLASK_TOKENS_UNTIL?.trim()
  if (raw === undefined || raw === '') return null
  const until = parseInstant(raw)
  if (until === undefined) {
    problems.push(
      `ACCEPT_FLASK_TOKENS_UNTIL: expected a real date or a date and time with its zone, ${EXAMPLES}; got ${JSON.stringify(raw)}`,
    )
    return null
  }
  if (signing.mode !== 'hmac')
    problems.push(
      `ACCEPT_FLASK_TOKENS_UNTIL: needs HS256 signing with JWT_SECRET, but JWT_ALGORITHM=${signing.algorithm} signs with the keyring's key pairs; the Flask service signed its tokens with its JWT_SECRET_KEY, and only that same secret verifies them: set JWT_SECRET to it (and JWT_ALGORITHM=HS256, or leave it unset)`,
    )
  else if (jwtSecret === undefined)
    problems.push(
      "ACCEPT_FLASK_TOKENS_UNTIL: needs JWT_SECRET set to the Flask service's JWT_SECRET_KEY (its tokens are verified with that secret; a generated one cannot verify them)",
    )
  return until
}

/**
 * A warning for the start-up log when the window has already ended (every Flask token is refused),
 * else undefined.
 *
 * @example
 * const warning = flaskWindowWarning(config.acceptFlaskTokensUntil)
 * if (warning) app.log.warn(warning)
 */
export function flaskWindowWarning(until: number | null, now = Date.now() / 1000): string | undefined {
  if (until === null || until > now) return undefined
  return `ACCEPT_FLASK_TOKENS_UNTIL (${new Date(until * 1000).toISOString()}) has passed: tokens the Flask service signed are refused; unset it once no client still holds one`
}

/** Epoch seconds of an ISO date (the next day's midnight, UTC) or date-time with zone; undefined unless it is a real one. */
function parseInstant(raw: string): number | undefined {
  const date = DATE.exec(raw)
  if (date) {
    const [y, m, d] = [Number(date[1]), Number(date[2]), Number(date[3])]
    if (!realDate(y, m, d)) return undefined
    return Date.UTC(y, m - 1, d + 1) / 1000
  }
  const dt = DATE_TIME.exec(raw)
  if (!dt) return undefined
  const [y, m, d, hh, mm, ss] = [1, 2, 3, 4, 5, 6].map((i) => Number(dt[i] ?? 0)) as [number, number, number, number, number, number]
  if (!realDate(y, m, d) || hh > 23 || mm > 59 || ss > 59) return undefined
  const zone = dt[7]!.toUpperCase()
  if (zone !== 'Z' && (Number(zone.slice(1, 3)) > 23 || Number(zone.slice(4, 6)) > 59)) return undefined
  const ms = Date.parse(raw)
  return Number.isFinite(ms) ? Math.floor(ms / 1000) : undefined
}

function realDate(y: number, m: number, d: number): boolean {
  const t = new Date(Date.UTC(y, m - 1, d))
  return y >= 1970 && t.getUTCFullYear() === y && t.getUTCMonth() === m - 1 && t.getUTCDate() === d
}
