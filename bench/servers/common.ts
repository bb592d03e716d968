/**
 * What every contender server shares: the port from `PORT` (0 picks a free one), the secret from
 * `BENCH_SECRET`, loopback only, and one line on stdout with the address once it listens, which
 * is how bench/run.ts knows the server is ready.
 */

import { BENCH_SECRET } from '../lib.ts'

export const port = Number(process.env.PORT ?? 0)
export const host = '127.0.0.1'
export const secret = process.env.BENCH_SECRET ?? BENCH_SECRET

/** Prints the line bench/run.ts waits for. */
export function announce(address: string): void {
  process.stdout.write(`listening ${address}\n`)
}

/** Exits cleanly on SIGTERM/SIGINT (bench/run.ts stops servers that way). */
export function exitOnSignal(close: () => unknown): void {
  const stop = () => {
    Promise.resolve(close()).finally(() => process.exit(0))
    setTimeout(() => process.exit(0), 1000).unref()
  }
  process.once('SIGTERM', stop)
  process.once('SIGINT', stop)
}

/** The issue-14 resource servers: the key set's URL (BENCH_JWKS_URL) and the tokens' issuer (BENCH_ISSUER). */
export function jwksEnv(): { jwksUrl: string; issuer: string } {
  const jwksUrl = process.env.BENCH_JWKS_URL
  const issuer = process.env.BENCH_ISSUER
  if (!jwksUrl || !issuer) throw new Error('BENCH_JWKS_URL and BENCH_ISSUER must be set (bench/keys.ts sets them)')
  return { jwksUrl, issuer }
}
