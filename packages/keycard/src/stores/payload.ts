/**
 * The message a revocation is announced with (PostgreSQL NOTIFY payload, Redis PUBLISH message):
 * `<exp or empty> <jti>`, exp first so that any jti parses.
 */

/**
 * The announcement of a revocation.
 *
 * @example
 * notification('a-jti', 1767225600) // '1767225600 a-jti'
 */
export function notification(jti: string, expiresAt: number | null): string {
  return `${expiresAt ?? ''} ${jti}`
}

/**
 * Parses a payload made by `notification`; `undefined` for anything else.
 *
 * @example
 * parseNotification('1767225600 a-jti') // { jti: 'a-jti', expiresAt: 1767225600 }
 */
export function parseNotification(payload: string | undefined): { jti: string; expiresAt: number | null } | undefined {
  if (payload === undefined) return undefined
  const space = payload.indexOf(' ')
  if (space < 0 || space === payload.length - 1) return undefined
  const exp = payload.slice(0, space)
  const expiresAt = exp === '' ? null : Number(exp)
  if (expiresAt !== null && !Number.isFinite(expiresAt)) return undefined
  return { jti: payload.slice(space + 1), expiresAt }
}
