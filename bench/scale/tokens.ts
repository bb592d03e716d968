/**
 * Tokens for seeded sessions, minted with the server's secret and the claims the server puts in its
 * own access tokens (`sub` user id, `sid` session id, `dbid` database identity, `admin`), as
 * bench/servers/keycard-server.ts does for its fresh pool: logins (argon2id) cannot mint 100 000.
 */

import { createKeycard } from 'keycard'
import { BENCH_SECRET } from '../lib.ts'
import { sessionId, userOfSession, type Layout } from './layout.ts'

/**
 * One access token (2 h) per session number in `sessions`, for the database whose identity is `dbid`.
 *
 * @example
 * const [token] = await tokensFor(FULL_LAYOUT, [1], dbid) // user 1's (the admin's) session 1
 */
export async function tokensFor(layout: Layout, sessions: readonly number[], dbid: string): Promise<string[]> {
  const keycard = await createKeycard({ secret: BENCH_SECRET, accessTokenExpires: '2h' })
  const out: string[] = []
  for (const j of sessions) {
    const user = userOfSession(layout, j)
    out.push(await keycard.createAccessToken(String(user), { additionalClaims: { sid: sessionId(j), dbid, admin: user === 1 } }))
  }
  return out
}

/** Milliseconds one request took and its status (the body is read and dropped). */
export async function timed(url: string, init: RequestInit = {}): Promise<{ ms: number; status: number; body: string }> {
  const t0 = performance.now()
  const res = await fetch(url, init)
  const body = await res.text()
  return { ms: performance.now() - t0, status: res.status, body }
}

/** `Authorization: Bearer <token>` headers. */
export function bearer(token: string, json = false): Record<string, string> {
  return { authorization: `Bearer ${token}`, ...(json ? { 'content-type': 'application/json' } : {}) }
}
