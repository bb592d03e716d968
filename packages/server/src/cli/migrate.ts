/** `keycard migrate [--status]`: brings the database schema up to date and prints what ran. */

import { parseArgs } from 'node:util'
import { loadConfig, redactUrl } from '../config.ts'
import { migrateToLatest, migrationStatus } from '../db/migrations/index.ts'
import { HELP_OPTION, openCliDatabase, parseOrUsage, type Command } from './command.ts'

const help = `Usage: keycard migrate [--status]

Runs every pending database migration, in order, and prints the ones that ran.
The server also does this when it starts; run it yourself before a deploy, or
to create the database file up front.

Options:
  --status      List every migration and when it ran; change nothing
  -h, --help    Show this message

The database is the one DATABASE_URL names (default ./data/keycard.db): a
SQLite file, or a PostgreSQL server (postgres://user:password@host:port/database,
with KEYS_SECRET, or JWT_SECRET for HS256, set as for the server).

Examples:
  keycard migrate
  DATABASE_URL=/var/lib/keycard/keycard.db keycard migrate --status
  DATABASE_URL=postgres://keycard:secret@db:5432/keycard keycard migrate
`

export const migrate: Command = {
  name: 'migrate',
  help,
  async run(args) {
    const { values } = parseOrUsage(() => parseArgs({ args, options: { status: { type: 'boolean' }, help: HELP_OPTION } }))
    if (values.help) {
      process.stdout.write(help)
      return 0
    }
    const config = loadConfig(process.env)

    const db = await openCliDatabase(config)
    try {
      if (values.status) {
        const list = await migrationStatus(db)
        process.stdout.write(`Database: ${redactUrl(config.databasePath)}\n`)
        for (const m of list)
          process.stdout.write(`  ${m.executedAt ? `ran ${m.executedAt.toISOString()}` : 'pending'.padEnd(28)}  ${m.name}\n`)
        return 0
      }
      const applied = await migrateToLatest(db)
      process.stdout.write(`Database: ${redactUrl(config.databasePath)}\n`)
      if (applied.length === 0) process.stdout.write('Already up to date: no migration to run.\n')
      for (const name of applied) process.stdout.write(`  applied ${name}\n`)
      if (applied.length > 0) process.stdout.write(`Ran ${applied.length} migration${applied.length === 1 ? '' : 's'}.\n`)
      return 0
    } finally {
      await db.destroy()
    }
  },
}
