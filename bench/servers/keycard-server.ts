/**
 * Wires contenders 7–9 to the Keycard server (see bench/server-contenders.ts). Each contender gets its
 * own server process and SQLite file; `prepare` registers a user over HTTP and logs in for tokens.
 *
 * - server-verify: repeated mode sends the access token the login returned. Fresh mode needs tens of
 *   thousands of valid tokens, which logins (argon2id, ~100/s) cannot supply, so the pool is minted with
 *   keycard, the server's secret (JWT_SECRET) and the claims the server puts in its own tokens
 *   (`sub` = user id, `sid` = the login's session, `dbid` = the database's identity, `admin`): byte for byte the kind of token it mints.
 * - server-login: `POST /auth/login` with the same credentials; event-loop delay measured in the server.
 *   The client sends no device token, so the login throttle counts every login and each one mints a
 *   device token (a row); server-login-nothrottle is the same with every THROTTLE_* off.
 * - server-refresh: `POST /auth/refresh`; each refresh token is single-use (rotation), so the load
 *   generator keeps a queue of refresh tokens and feeds each response's successor back in (autocannon,
 *   `chain`); the queue is seeded with logins and carried over from run to run in a file.
 * - pg-verify, pg-login, pg-refresh: the same three on PostgreSQL (DATABASE_URL=postgres://…), one
 *   database each on a throwaway server from @keycard/test-servers (`startPostgres()`), started only
 *   when one of them is selected and pinned to the server CPU, as SQLite works inside the server
 *   process. fsync is off there with synchronous_commit on: a commit reaches the WAL in the OS page
 *   cache before it is acknowledged, the durability of the server's SQLite setting (WAL, synchronous=NORMAL).
 */

import { spawnSync } from 'node:child_process'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { startPostgres, type PostgresServer } from '@keycard/test-servers'
import { createKeycard } from 'keycard'
import type { Contender } from '../contenders.ts'
import { BENCH_SECRET } from '../lib.ts'
import type { ServerContenderSetup } from '../server-contenders.ts'

const SCRIPT = fileURLToPath(new URL('./keycard-server-main.ts', import.meta.url))
const USER = 'benchuser'
const PASSWORD = 'correct horse battery staple 42'
const CREDENTIALS = JSON.stringify({ username: USER, password: PASSWORD })
/** Refresh tokens seeded per refresh connection; runs lose at most one per connection (in flight at the end). */
const REFRESH_SEED_PER_CONNECTION = 12

interface Tokens {
  access_token: string
  refresh_token: string
}

function payload(token: string): Record<string, unknown> {
  return JSON.parse(Buffer.from(token.split('.')[1]!, 'base64url').toString('utf8')) as Record<string, unknown>
}

async function post(url: string, body: string, token?: string): Promise<{ status: number; json: unknown }> {
  const res = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
    body,
  })
  const text = await res.text()
  let json: unknown = text
  try {
    json = JSON.parse(text)
  } catch {
    // not JSON; reported as text
  }
  return { status: res.status, json }
}

async function registerAndLogin(url: string): Promise<Tokens> {
  const reg = await post(`${url}/auth/register`, CREDENTIALS)
  if (reg.status !== 201) throw new Error(`POST /auth/register: ${reg.status} ${JSON.stringify(reg.json)}`)
  return reg.json as Tokens
}

async function login(url: string): Promise<Tokens> {
  const res = await post(`${url}/auth/login`, CREDENTIALS)
  if (res.status !== 200) throw new Error(`POST /auth/login: ${res.status} ${JSON.stringify(res.json)}`)
  return res.json as Tokens
}

/** Every limit of the server's login throttle off (server-login-nothrottle). */
const THROTTLE_OFF: Record<string, string> = Object.fromEntries(
  ['ACCOUNT', 'ADDRESS', 'ACCOUNT_ADDRESS', 'DEVICE', 'REGISTER', 'PASSWORD'].map((name) => [`THROTTLE_${name}`, 'off']),
)

/** The PostgreSQL twins of the three server contenders. */
export const POSTGRES_CONTENDER_IDS = ['pg-verify', 'pg-login', 'pg-refresh'] as const
const TWIN: Record<string, string> = { 'pg-verify': 'server-verify', 'pg-login': 'server-login', 'pg-refresh': 'server-refresh' }

/** A PostgreSQL server pinned to `cpu` with one database per PostgreSQL contender; undefined and the reason when it cannot start. */
async function startBenchPostgres(
  cpu: number | undefined,
): Promise<{ server: PostgresServer; urls: Map<string, string> } | { reason: string }> {
  try {
    const server = await startPostgres({ removeOnExit: true })
    if (cpu !== undefined && server.pid !== undefined)
      spawnSync('taskset', ['-a', '-p', '-c', String(cpu), String(server.pid)], { stdio: 'ignore' })
    const urls = new Map<string, string>()
    for (const id of POSTGRES_CONTENDER_IDS) urls.set(id, await server.createDatabase(id.replace('-', '_')))
    return { server, urls }
  } catch (err) {
    return { reason: `PostgreSQL did not start: ${(err instanceof Error ? err.message : String(err)).split('\n')[0]}` }
  }
}

/** `POST /auth/login` with the bench user's credentials, 16 connections, the event-loop delay measured in the server. */
function loginContender(id: string, label: string, env: Record<string, string>): Contender {
  return {
    script: SCRIPT,
    auth: true,
    id,
    label,
    env,
    modes: ['repeated'],
    method: 'POST',
    path: '/auth/login',
    body: CREDENTIALS,
    eventLoopDelay: true,
    connections: 16,
    expect: (status, body) =>
      status === 200 && typeof (body as Tokens).access_token === 'string'
        ? undefined
        : `expected 200 with tokens, got ${status} ${JSON.stringify(body)}`,
  }
}

export async function serverSetup(options: {
  pool: number
  refreshConnections?: number
  /** The contenders the run selected (undefined: all); PostgreSQL starts only for a pg-* one. */
  wanted?: readonly string[] | undefined
  /** The CPU servers are pinned to, for PostgreSQL too. */
  serverCpu?: number | undefined
}): Promise<ServerContenderSetup> {
  const tmp = mkdtempSync(join(tmpdir(), 'keycard-bench-server-'))
  const refreshConnections = options.refreshConnections ?? 8
  const env = (id: string): Record<string, string> => ({
    DATABASE_URL: join(tmp, `${id}.db`),
    JWT_SECRET: BENCH_SECRET,
    LOG_LEVEL: 'warn',
    NODE_ENV: 'production',
  })
  const base = { script: SCRIPT, auth: true } as const
  const sqliteContenders: Contender[] = [
    {
      ...base,
      id: 'server-verify',
      label: 'Keycard server GET /auth/verify',
      baseline: 'fastify-bare',
      env: env('server-verify'),
      modes: ['repeated', 'fresh'],
      method: 'GET',
      path: '/auth/verify',
      expect: (status, body) =>
        status === 200 && typeof (body as { id?: unknown }).id === 'string'
          ? undefined
          : `expected 200 {id, admin}, got ${status} ${JSON.stringify(body)}`,
    },
    loginContender('server-login', 'Keycard server POST /auth/login (argon2id)', env('server-login')),
    // The same logins with every THROTTLE_* off (no counters, no device tokens): what throttling costs.
    loginContender('server-login-nothrottle', 'Keycard server POST /auth/login (argon2id), throttling off', {
      ...env('server-login-nothrottle'),
      ...THROTTLE_OFF,
    }),
    {
      ...base,
      id: 'server-refresh',
      label: 'Keycard server POST /auth/refresh (rotation, DB write)',
      env: env('server-refresh'),
      modes: ['fresh'],
      method: 'POST',
      path: '/auth/refresh',
      body: '{}',
      loadgen: 'autocannon',
      chain: true,
      connections: refreshConnections,
      expect: (status, body) =>
        status === 200 && typeof (body as Tokens).refresh_token === 'string'
          ? undefined
          : `expected 200 with tokens, got ${status} ${JSON.stringify(body)}`,
    },
  ]
  const contenders: Contender[] = [...sqliteContenders]
  const skipped: { id: string; reason: string }[] = []
  const wantsPostgres = options.wanted === undefined || options.wanted.some((id) => id.startsWith('pg-'))
  const pg = wantsPostgres ? await startBenchPostgres(options.serverCpu) : undefined
  if (!pg)
    for (const id of POSTGRES_CONTENDER_IDS)
      skipped.push({ id, reason: 'PostgreSQL starts only when a pg-* contender is selected (or all are)' })
  else if ('reason' in pg) for (const id of POSTGRES_CONTENDER_IDS) skipped.push({ id, reason: pg.reason })
  else if (pg) {
    for (const id of POSTGRES_CONTENDER_IDS) {
      const twin = sqliteContenders.find((c) => c.id === TWIN[id])!
      contenders.push({ ...twin, id, label: `${twin.label} on PostgreSQL`, env: { ...twin.env, DATABASE_URL: pg.urls.get(id)! } })
    }
  }
  /** What a PostgreSQL contender does is its SQLite twin's; server-login-nothrottle is server-login. */
  const kind = (c: Contender) => TWIN[c.id] ?? (c.id === 'server-login-nothrottle' ? 'server-login' : c.id)

  const requestTokens = new Map<string, string | null>()
  const tokenFiles = new Map<string, string>()
  return {
    contenders,
    skipped,
    async prepare(contender: Contender, url: string) {
      if (!contender.id.startsWith('server-') && !contender.id.startsWith('pg-')) return
      const first = await registerAndLogin(url)
      if (kind(contender) === 'server-verify') {
        requestTokens.set(contender.id, first.access_token)
        const claims = payload(first.access_token)
        const keycard = await createKeycard({ secret: BENCH_SECRET, accessTokenExpires: '2h' })
        const pool: string[] = []
        for (let i = 0; i < options.pool; i++) {
          pool.push(
            await keycard.createAccessToken(String(claims.sub), {
              additionalClaims: { sid: claims.sid, dbid: claims.dbid, admin: claims.admin },
            }),
          )
        }
        const file = join(tmp, `${contender.id}-tokens.txt`)
        writeFileSync(file, `${pool.join('\n')}\n`)
        tokenFiles.set(contender.id, file)
      } else if (kind(contender) === 'server-login') {
        requestTokens.set(contender.id, null)
      } else if (kind(contender) === 'server-refresh') {
        // The preflight spends `first`'s refresh token; the runs share the seeded queue.
        requestTokens.set(contender.id, first.refresh_token)
        const seed: string[] = []
        for (let i = 0; i < refreshConnections * REFRESH_SEED_PER_CONNECTION; i++) seed.push((await login(url)).refresh_token)
        const file = join(tmp, `${contender.id}-chain.txt`)
        writeFileSync(file, `${seed.join('\n')}\n`)
        tokenFiles.set(contender.id, file)
      }
    },
    requestToken: (contender) => requestTokens.get(contender.id),
    tokenFile: (contender) => tokenFiles.get(contender.id),
    async cleanup() {
      if (pg && 'server' in pg) await pg.server.stop()
      rmSync(tmp, { recursive: true, force: true })
    },
  }
}
