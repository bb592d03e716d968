/**
 * The `keycard` command: dispatches on the first word to one file per command, and turns their errors
 * into one line on stderr and an exit code. No CLI framework: `node:util` parseArgs and plain help
 * strings, as json-server's bin.ts. Run by bin/keycard.js, `npm run keycard -- …` or
 * `tsx src/cli/main.ts …`.
 */

import { readFileSync } from 'node:fs'
import { ConfigError } from '../config.ts'
import { CliError, EXIT, UsageError, type Command } from './command.ts'
import { PromptCancelled } from './prompt.ts'

/** Each command's module is loaded only when it runs, so `--help` and `useradd` do not load Fastify. */
const COMMANDS: readonly { name: string; summary: string; load: () => Promise<Command> }[] = [
  { name: 'serve', summary: 'Start the auth server', load: async () => (await import('./serve.ts')).serve },
  { name: 'migrate', summary: 'Create or update the database schema', load: async () => (await import('./migrate.ts')).migrate },
  {
    name: 'useradd',
    summary: 'Create a user (password from a hidden prompt or stdin)',
    load: async () => (await import('./useradd.ts')).useradd,
  },
  {
    name: 'import',
    summary: "Import users from a Flask app's database",
    load: async () => (await import('./import.ts')).importCommand,
  },
  { name: 'users', summary: 'List, delete or rename users', load: async () => (await import('./users.ts')).users },
  { name: 'keys', summary: 'List, rotate or retire the signing keys', load: async () => (await import('./keys.ts')).keys },
  { name: 'audit', summary: 'Show the audit trail (sign-ins, security events)', load: async () => (await import('./audit.ts')).audit },
]

const help = `Usage: keycard <command> [options]

Keycard: a JWT auth server (register, login, refresh with rotation, logout,
forward-auth) on SQLite or PostgreSQL.

Commands:
${COMMANDS.map((c) => `  ${c.name.padEnd(10)}${c.summary}`).join('\n')}

Options:
  -h, --help      Show this message; \`keycard <command> --help\` for a command
  -v, --version   Print the version

The CLI reads the same environment as the server: DATABASE_URL (default
./data/keycard.db; or postgres://user:password@host:port/database), ARGON2_*
and the rest (see the keycard-server README).

Exit codes: 0 success; 1 error (bad arguments or configuration, a rule broken,
a user not found); 130 cancelled at a prompt (Ctrl-C).

Examples:
  keycard migrate
  keycard useradd alice --email alice@example.com --admin
  keycard users list
  keycard keys rotate
  keycard audit --since 24h
  keycard serve --port 8080
`

function version(): string {
  const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }
  return pkg.version
}

/** Runs `keycard <args>` and resolves to the exit code; writes to process.stdout and process.stderr. */
export async function main(args: string[]): Promise<number> {
  const [word, ...rest] = args
  if (word === '-h' || word === '--help') {
    process.stdout.write(help)
    return EXIT.ok
  }
  if (word === '-v' || word === '--version') {
    process.stdout.write(`${version()}\n`)
    return EXIT.ok
  }
  if (word === 'help' && rest[0] === undefined) {
    process.stdout.write(help)
    return EXIT.ok
  }
  // `keycard help users list` = `keycard users list --help`
  const [name, commandArgs] = word === 'help' ? [rest[0]!, [...rest.slice(1), '--help']] : [word, rest]
  if (name === undefined || name.startsWith('-')) {
    process.stderr.write(`keycard: ${name === undefined ? 'missing command' : `Unknown option '${name}'`}\n\n${help}`)
    return EXIT.error
  }
  const entry = COMMANDS.find((c) => c.name === name)
  if (!entry) {
    process.stderr.write(`keycard: unknown command "${name}"\n\n${help}`)
    return EXIT.error
  }
  const command = await entry.load()

  try {
    return await command.run(commandArgs)
  } catch (err) {
    const shown = (err instanceof UsageError || err instanceof CliError) && err.command ? err.command.name : command.name
    if (err instanceof UsageError) {
      process.stderr.write(`keycard ${shown}: ${err.message}\n\n${(err.command ?? command).help}`)
    } else if (err instanceof CliError) {
      process.stderr.write(`keycard ${shown}: ${err.message}\n`)
    } else if (err instanceof ConfigError) {
      // One line per bad variable, each naming it, what it expected and what it got; no stack trace.
      for (const problem of err.problems) process.stderr.write(`keycard: invalid configuration: ${problem}\n`)
    } else if (err instanceof PromptCancelled) {
      process.stderr.write(`keycard ${shown}: cancelled; nothing was changed\n`)
      return EXIT.cancelled
    } else {
      // Unexpected: the message is what the user can act on (EACCES, EADDRINUSE…); KEYCARD_DEBUG=1 shows the stack.
      process.stderr.write(
        `keycard ${shown}: ${process.env.KEYCARD_DEBUG ? ((err as Error).stack ?? String(err)) : err instanceof Error ? err.message : String(err)}\n`,
      )
    }
    return EXIT.error
  }
}

process.exitCode = await main(process.argv.slice(2))
