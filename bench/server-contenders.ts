/**
 * Contenders 7–9: the Keycard server (packages/server) itself.
 *   7. server-verify: `GET /auth/verify` with its real store (repeated token and fresh pool),
 *   8. server-login: `POST /auth/login` (argon2id-bound), with the event-loop delay measured meanwhile
 *      (server-login-nothrottle: the same with the login throttle off),
 *   9. server-refresh: `POST /auth/refresh` (a database write per call),
 *   and pg-verify, pg-login, pg-refresh: the same three on PostgreSQL.
 *
 * HOOK: `serverContenders()` is the single place these are wired in. Until packages/server exposes
 * `buildApp(config)` (src/app.ts) and `loadConfig(env)` (src/config.ts) and serves the routes above,
 * it returns them under `skipped` with the reason, and bench/run.ts runs contenders 1–6 only.
 */

import { existsSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import type { Contender } from './contenders.ts'

export interface ServerContenderSetup {
  contenders: Contender[]
  skipped: { id: string; reason: string }[]
  /** Called once each server listens: register a user, log in, mint what the runs need. */
  prepare?(contender: Contender, url: string): Promise<void>
  /** The token for repeated mode and the preflight; `null` sends none; undefined uses the bench's own. */
  requestToken?(contender: Contender): string | null | undefined
  /** The pool of tokens (one a line) for fresh mode; undefined uses the bench's own pool. */
  tokenFile?(contender: Contender): string | undefined
  cleanup?(): Promise<void>
}

export const SERVER_CONTENDER_IDS = [
  'server-verify',
  'server-login',
  'server-login-nothrottle',
  'server-refresh',
  'pg-verify',
  'pg-login',
  'pg-refresh',
] as const

const APP = fileURLToPath(new URL('../packages/server/src/app.ts', import.meta.url))

/**
 * `pool`: how many tokens server-verify's fresh mode cycles through (the bench's `--pool`); `wanted`:
 * the contenders selected (PostgreSQL starts only for a pg-* one); `serverCpu`: where servers are pinned.
 */
export async function serverContenders(options: {
  pool: number
  wanted?: readonly string[] | undefined
  serverCpu?: number | undefined
}): Promise<ServerContenderSetup> {
  if (!existsSync(APP)) {
    const reason = 'packages/server/src/app.ts does not exist yet (the Keycard server is being built); see bench/server-contenders.ts'
    return { contenders: [], skipped: SERVER_CONTENDER_IDS.map((id) => ({ id, reason })) }
  }
  const { serverSetup } = await import('./servers/keycard-server.ts')
  return serverSetup(options)
}
