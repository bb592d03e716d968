/**
 * The contenders of the HTTP benchmark. Each is a server started as its own process (pinned to the
 * server core) and a request the load generator repeats. Contenders 1–6 (and the two Hono rows) are the minimal apps in
 * bench/servers, with one reference row (`express-floor`: the least work any HS256 check must do
 * under Express); 7–9 (the Keycard server) come from bench/server-contenders.ts.
 */

import { fileURLToPath } from 'node:url'

export type Mode = 'repeated' | 'fresh'

export interface Contender {
  id: string
  label: string
  /** The row this one's ratio is taken against, in the same mode and the same round. */
  baseline?: string
  /** Server entry (a .ts file run with `node --import tsx`). */
  script: string
  /** Extra environment for the server process. */
  env?: Record<string, string>
  /** Modes this contender runs in (login/refresh are single-mode). */
  modes: readonly Mode[]
  /** `false` for the bare ceilings: a request without a token must still succeed. */
  auth: boolean
  method: 'GET' | 'POST'
  path: string
  /** Overrides for the POST contenders (login/refresh): the body sent and the fixed token, if any. */
  body?: string
  /** Measure the event-loop delay inside the server during the run (needs the eld probe preload). */
  eventLoopDelay?: boolean
  /** Connections for this contender (default: --connections). */
  connections?: number
  /** Force a load generator (the refresh chain needs autocannon's per-response hook). */
  loadgen?: 'autocannon'
  /** Single-use refresh tokens: feed each response's `refresh_token` back into the queue (see LoadSpec.chain). */
  chain?: boolean
  /** The status the unauthenticated preflight must return (default 401 for auth contenders). */
  unauthStatus?: number
  /** Expected 2xx body check for the preflight; default `{"sub": BENCH_SUBJECT}`. */
  expect?: (status: number, body: unknown) => string | undefined
}

const here = (name: string) => fileURLToPath(new URL(`./servers/${name}.ts`, import.meta.url))

function http(id: string, label: string, baseline: string | undefined, auth = true): Contender {
  return { id, label, baseline, script: here(id), modes: ['repeated', 'fresh'], auth, method: 'GET', path: '/me' }
}

/** Contenders 1–6, in the order they are interleaved. */
export const CORE_CONTENDERS: readonly Contender[] = [
  http('fastify-bare', 'Fastify 5, no auth (ceiling)', undefined, false),
  http('fastify-keycard', 'Fastify 5 + keycard', 'fastify-bare'),
  http('fastify-jwt', 'Fastify 5 + @fastify/jwt', 'fastify-bare'),
  http('express-bare', 'Express 5, no auth (ceiling)', undefined, false),
  http('express-jwt', 'Express 5 + express-jwt', 'express-bare'),
  http('express-keycard', 'Express 5 + keycard', 'express-bare'),
  // A reference row, not a peer: the least work any HS256 check must do (servers/express-floor.ts).
  http('express-floor', 'Express 5 + minimal inline HMAC check (floor)', 'express-bare'),
  http('hono-jwt', 'Hono + hono/jwt (@hono/node-server)', 'fastify-bare'),
  http('hono-keycard', 'Hono + keycard (@hono/node-server)', 'fastify-bare'),
]
