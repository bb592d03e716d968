/** `keycard serve [--port N] [--host H]`: runs the server (server.ts start) until SIGTERM or Ctrl-C. */

import type { AddressInfo } from 'node:net'
import { parseArgs } from 'node:util'
import { loadConfig, type Config } from '../config.ts'
import { start } from '../server.ts'
import { HELP_OPTION, parseOrUsage, UsageError, type Command } from './command.ts'

const help = `Usage: keycard serve [--port <port>] [--host <host>]

Starts the Keycard auth server: runs pending migrations, then listens. Its first
log lines say how it signs: HS256 with JWT_SECRET, or a keyring (algorithm,
current kid, issuer; public keys at /.well-known/jwks.json). Logs are
JSON lines (pino) on stdout; the address it actually bound is printed on stderr
as "Keycard listening on http://HOST:PORT" (useful with PORT=0), followed by a
warning when its cookies are Secure while it serves plain http. SIGTERM or
Ctrl-C stops it after in-flight requests finish.

Options:
  --port <port>   Port to listen on; overrides PORT (default 3000; 0 = any free port)
  --host <host>   Address to bind; overrides HOST (default 127.0.0.1)
  -h, --help      Show this message

Every other setting comes from the environment: DATABASE_URL, JWT_SECRET,
JWT_ALGORITHM, KEYS_SECRET, KEY_ROTATION_INTERVAL, JWKS_MAX_AGE, ISSUER,
ACCESS_TOKEN_EXPIRES, REFRESH_TOKEN_EXPIRES, REFRESH_REUSE_INTERVAL, LOG_LEVEL,
ARGON2_MEMORY_COST, ARGON2_TIME_COST, ARGON2_PARALLELISM, NODE_ENV,
COOKIE_SECURE, IMPLICIT_REFRESH_WINDOW, DATABASE_BUSY_TIMEOUT_MS,
DATABASE_POOL_SIZE, DATABASE_STATEMENT_TIMEOUT_MS, DATABASE_CONNECT_TIMEOUT_MS,
REVOCATION_MAX_STALENESS, REVOCATION_POLL_INTERVAL (see the keycard-server README).

Examples:
  keycard serve
  PORT=8080 HOST=0.0.0.0 JWT_SECRET="$(cat /run/secrets/jwt)" keycard serve
  keycard serve --port 0
`

/**
 * `http://host:port` of the socket actually bound. Fastify's own answer names 127.0.0.1 for a server
 * bound to 0.0.0.0, which hides that every interface can reach it; this names the wildcard, and adds
 * the address to use from this machine.
 *
 * @example
 * ```ts
 * boundUrl({ address: '0.0.0.0', family: 'IPv4', port: 3000 }) // 'http://0.0.0.0:3000 (every interface; from this machine http://127.0.0.1:3000)'
 * boundUrl({ address: '::1', family: 'IPv6', port: 3000 })     // 'http://[::1]:3000'
 * ```
 */
export function boundUrl(address: AddressInfo | string | null): string {
  if (address === null || typeof address === 'string') return String(address)
  const host = (a: string) => (a.includes(':') ? `[${a}]` : a)
  const url = `http://${host(address.address)}:${address.port}`
  if (address.address === '0.0.0.0' || address.address === '::') {
    return `${url} (every interface; from this machine http://${address.address === '::' ? '[::1]' : '127.0.0.1'}:${address.port})`
  }
  return url
}

/**
 * What `serve` prints on stderr once listening: the bound address, then, when the cookies are Secure
 * (COOKIE_SECURE), a warning that this server serves plain http, so a browser that reaches it without
 * an HTTPS proxy in front drops them and the account page cannot sign in.
 *
 * @example
 * ```ts
 * process.stderr.write(startupLines(app.server.address(), config))
 * // Keycard listening on http://127.0.0.1:3000
 * ```
 */
export function startupLines(address: AddressInfo | string | null, config: Pick<Config, 'cookieSecure'>): string {
  let lines = `Keycard listening on ${boundUrl(address)}\n`
  if (config.cookieSecure) {
    lines +=
      "Warning: COOKIE_SECURE is on (Secure cookies) but this server serves plain http: a browser keeps the account page's " +
      'sign-in cookies only over HTTPS, so signing in at an http:// address will not stick. Serve it through an HTTPS proxy ' +
      '(then ignore this warning), or set COOKIE_SECURE=false for development over http.\n'
  }
  return lines
}

export const serve: Command = {
  name: 'serve',
  help,
  async run(args) {
    const { values, positionals } = parseOrUsage(() =>
      parseArgs({
        args,
        options: { port: { type: 'string', short: 'p' }, host: { type: 'string' }, help: HELP_OPTION },
        allowPositionals: true,
      }),
    )
    if (values.help) {
      process.stdout.write(help)
      return 0
    }
    if (positionals.length > 0) throw new UsageError(`unexpected argument ${JSON.stringify(positionals[0])}`)
    // The flags go through loadConfig like the variables they override, so they get the same checks.
    const config = loadConfig({
      ...process.env,
      ...(values.port !== undefined ? { PORT: values.port } : {}),
      ...(values.host !== undefined ? { HOST: values.host } : {}),
    })
    const server = await start(config)
    // One write, so a reader of stderr gets the address and its warning together.
    process.stderr.write(startupLines(server.app.server.address(), config))
    return 0
  },
}
