/**
 * What every `keycard` command shares: the Command shape main.ts dispatches to, the two errors a
 * command throws (UsageError prints the usage after the message; CliError does not), argument
 * parsing on `node:util` parseArgs, and opening the database the environment names.
 */

import type { Kysely } from 'kysely'
import { redactUrl, type Config } from '../config.ts'
import type { Database } from '../db/schema.ts'

export interface Command {
  /** The words that select it, as typed: `useradd`, `users list`. */
  name: string
  /** The whole `--help` text. */
  help: string
  /** Runs with the arguments after the command's name; resolves to the exit code. */
  run(args: string[]): Promise<number>
}

/** Wrong arguments: main prints the message, then the command's usage, and exits 1. */
export class UsageError extends Error {
  /** The command whose usage to print, when it is not the one main dispatched to (`users list`). */
  command: Command | undefined
  constructor(message: string) {
    super(message)
    this.name = 'UsageError'
  }
}

/** A failure the user can act on: main prints the message alone and exits 1. */
export class CliError extends Error {
  /** The command to name in the message, when it is not the one main dispatched to. */
  command: Command | undefined
  constructor(message: string) {
    super(message)
    this.name = 'CliError'
  }
}

/** Exit codes, as `keycard --help` documents them. */
export const EXIT = { ok: 0, error: 1, cancelled: 130 } as const

/** The `-h, --help` option every command accepts. */
export const HELP_OPTION = { type: 'boolean', short: 'h' } as const

/**
 * Runs a `parseArgs` call and turns its errors (unknown option, missing value, unexpected argument)
 * into UsageErrors. Their messages go on with advice about `--` that does not apply here, so only the
 * first sentence is kept, as json-server does.
 */
export function parseOrUsage<T>(parse: () => T): T {
  try {
    return parse()
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code
    if (typeof code === 'string' && code.startsWith('ERR_PARSE_ARGS_')) throw new UsageError((err as Error).message.split(/\.(?:\s|$)/)[0]!)
    throw err
  }
}

/** An integer option within bounds, or a UsageError naming it. */
export function integerOption(name: string, raw: string | undefined, fallback: number, min: number, max: number): number {
  if (raw === undefined) return fallback
  if (!/^\d{1,10}$/.test(raw) || Number(raw) < min || Number(raw) > max)
    throw new UsageError(`--${name} must be an integer from ${min} to ${max}, got ${JSON.stringify(raw)}`)
  return Number(raw)
}

/**
 * Opens the database the config names as the server does: the same file and the same busy timeout
 * (DATABASE_BUSY_TIMEOUT_MS, validated by loadConfig), so a command beside a running server waits for
 * its lock as long as a request would, then fails with the busy message. A file that cannot be opened
 * is a CliError naming it.
 *
 * @example
 * const db = await openCliDatabase(loadConfig(process.env))
 * try { await migrateToLatest(db) } finally { await db.destroy() }
 */
export async function openCliDatabase(config: Config): Promise<Kysely<Database>> {
  // Loaded here, not at the top: main.ts imports this file, and `--help` needs no database driver.
  const { databaseOptions, openDatabase } = await import('../db/database.ts')
  try {
    return openDatabase(config.databasePath, undefined, databaseOptions(config))
  } catch (err) {
    throw new CliError(`cannot open the database ${redactUrl(config.databasePath)}: ${(err as Error).message}`)
  }
}

/**
 * Opens the database the config names (openCliDatabase), brings its schema up to date (as the server
 * does at start, so `useradd` works before the first `serve`), runs `fn`, and closes it.
 *
 * @example
 * const count = await withDatabase(config, async (db) => (await db.selectFrom('users').select('id').execute()).length)
 */
export async function withDatabase<T>(config: Config, fn: (db: Kysely<Database>) => Promise<T>): Promise<T> {
  const { migrateToLatest } = await import('../db/migrations/index.ts')
  const db = await openCliDatabase(config)
  try {
    await migrateToLatest(db)
    return await fn(db)
  } finally {
    await db.destroy()
  }
}
