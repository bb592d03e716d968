/** `keycard serve [--port N] [--host H]`: runs the server (server.ts start) until SIGTERM or Ctrl-C. */

import { parseArgs } from 'node:util'
import { loadConfig } from '../config.ts'
import { start } from '../server.ts'
import { HELP_OPTION, parseOrUsage, UsageError, type Command } from './command.ts'

const help = `Usage: keycard serve [--port <port>] [--host <host>]

Starts the Keycard auth server: runs pending migrations, then listens. Logs are
JSON lines (pino) on stdout; the address it listens on is printed on stderr as
"Keycard listening on http://HOST:PORT" (useful with PORT=0). SIGTERM or Ctrl-C
stops it after in-flight requests finish.

Options:
  --port <port>   Port to listen on; overrides PORT (default 3000; 0 = any free port)
  --host <host>   Address to bind; overrides HOST (default 127.0.0.1)
  -h, --help      Show this message

Every other setting comes from the environment: DATABASE_URL, JWT_SECRET,
ACCESS_TOKEN_EXPIRES, REFRESH_TOKEN_EXPIRES, REFRESH_REUSE_INTERVAL, LOG_LEVEL,
ARGON2_MEMORY_COST, ARGON2_TIME_COST, ARGON2_PARALLELISM, NODE_ENV,
COOKIE_SECURE, IMPLICIT_REFRESH_WINDOW (see the keycard-server README).

Examples:
  keycard serve
  PORT=8080 HOST=0.0.0.0 JWT_SECRET="$(cat /run/secrets/jwt)" keycard serve
  keycard serve --port 0
`

export const serve: Command = {
  name: 'serve',
  help,
  async run(args) {
    const { values, positionals } = parseOrUsage(() =>
      parseArgs({ args, options: { port: { type: 'string', short: 'p' }, host: { type: 'string' }, help: HELP_OPTION }, allowPositionals: true }),
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
    process.stderr.write(`Keycard listening on ${server.url}\n`)
    return 0
  },
}
