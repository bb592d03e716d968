/**
 * What the Flask token window tests share (flask-tokens*.test.ts): tokens minted as Flask-JWT-Extended
 * mints them, by the real PyJWT (fixtures/fje_tokens.py), and the window on a frozen clock.
 */

import assert from 'node:assert/strict'
import { spawnSync } from 'node:child_process'
import type { TestContext } from 'node:test'
import { fileURLToPath } from 'node:url'
import { claimsOf, freezeClock, TEST_SECRET, type TestServer } from './helpers.ts'

const PYTHON = '/usr/bin/python3'
const SCRIPT = fileURLToPath(new URL('./fixtures/fje_tokens.py', import.meta.url))
export const REVOKED = { msg: 'Token has been revoked', code: 'KEYCARD_TOKEN_REVOKED' }
export const ENDED = {
  msg: 'Tokens issued by the Flask service are no longer accepted (ACCEPT_FLASK_TOKENS_UNTIL has passed): sign in again',
  code: 'FLASK_TOKENS_ENDED',
}
/** The window of these tests: a minute after the frozen start; Flask tokens live 15 minutes. */
export const WINDOW_MS = 60_000

export interface FjeItem {
  sub: string
  type?: 'access' | 'refresh'
  fresh?: boolean
  /** FJE's `fresh=timedelta(seconds=…)`: a float "fresh until" epoch. */
  fresh_for?: number
  /** iat, epoch seconds (default: the frozen now). */
  now?: number
  expires?: number
}

/**
 * Tokens from fixtures/fje_tokens.py (PyJWT), signed with `secret`, issued at the (frozen) now.
 *
 * @example
 * const [access, refresh] = fjeTokens([{ sub: '1' }, { sub: '1', type: 'refresh' }])
 */
export function fjeTokens(items: FjeItem[], secret = TEST_SECRET): string[] {
  const now = Math.floor(Date.now() / 1000)
  const run = spawnSync(PYTHON, [SCRIPT], { input: JSON.stringify({ secret, items: items.map((i) => ({ now, ...i })) }), encoding: 'utf8' })
  if (run.error || run.status !== 0)
    assert.fail(`${PYTHON} ${SCRIPT} failed (${run.error?.message ?? run.stderr.trim()}); install PyJWT: apt-get install python3-jwt`)
  return (JSON.parse(run.stdout) as { tokens: string[] }).tokens
}

/**
 * A Flask access token and refresh token of user `sub`.
 *
 * @example
 * const { access, refresh } = fjePair('1')
 */
export function fjePair(sub: string, fresh = false): { access: string; refresh: string } {
  const [access, refresh] = fjeTokens([
    { sub, type: 'access', fresh },
    { sub, type: 'refresh', expires: 30 * 86400 },
  ])
  return { access: access!, refresh: refresh! }
}

/**
 * Freezes the clock and returns the window's end, as ACCEPT_FLASK_TOKENS_UNTIL, and how to move past it.
 *
 * @example
 * const { env, advance } = flaskWindow(t)
 * const s = await startServer(t, env)
 * advance(WINDOW_MS) // the window has ended
 */
export function flaskWindow(t: TestContext): { env: Record<string, string>; advance: (ms: number) => void } {
  const advance = freezeClock(t)
  const until = new Date(Date.now() + WINDOW_MS).toISOString()
  return { env: { ACCEPT_FLASK_TOKENS_UNTIL: until }, advance }
}

/**
 * The id of `username` (the `sub` a Flask token of theirs carries).
 *
 * @example
 * const sub = await userId(s, 'alice') // '1'
 */
export async function userId(s: TestServer, username: string): Promise<string> {
  const { access_token } = await s.login(username)
  return String(claimsOf(access_token).sub)
}
