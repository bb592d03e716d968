/**
 * `keycard import --from <sqlite file | postgres URL>`: copies the users of a Flask app's database into
 * Keycard's (DATABASE_URL), keeping their ids and password hashes (legacy-hashes.ts verifies them at
 * login, then they are re-hashed to argon2id). Reports what it imported and what it skipped, and why;
 * re-running it skips the users it already imported. Hashes and passwords are never printed.
 */

import { parseArgs } from 'node:util'
import { loadConfig } from '../config.ts'
import { importUsers } from '../import/apply.ts'
import type { ImportPlan } from '../import/plan.ts'
import { type ColumnMapping, identifierProblem, readSourceUsers, SourceError } from '../import/source.ts'
import { CliError, HELP_OPTION, parseOrUsage, UsageError, withDatabase, type Command } from './command.ts'

/** The classic tutorials' schemas (docs/migrating-from-flask.md). */
export const PRESETS: Record<string, ColumnMapping> = {
  // Flask-JWT-Extended + flask-restful: UserModel(id, username, password = passlib pbkdf2_sha256).
  'flask-jwt-tutorial': { table: 'users', id: 'id', username: 'username', password: 'password' },
  // RealPython "Token-Based Authentication With Flask": User(id, email, password = Flask-Bcrypt, registered_on, admin).
  'flask-bcrypt-tutorial': {
    table: 'users',
    id: 'id',
    email: 'email',
    password: 'password',
    admin: 'admin',
    registeredOn: 'registered_on',
  },
}

const help = `Usage: keycard import --from <sqlite file | postgres URL> [--preset <name>]
                      [--table T] [--id C] [--username C] [--email C] [--password C]
                      [--admin C] [--registered-on C] [--dry-run] [--json]

Copies the users of a Flask app's database into Keycard's (DATABASE_URL),
keeping their ids (so the "sub" of the Flask service's tokens names the same
user) and their password hashes: passlib pbkdf2_sha256, bcrypt ($2a$/$2b$/$2y$),
Werkzeug pbkdf2:sha256 and scrypt. Each is checked at login and replaced by
argon2id on the first successful one. The Flask database is only read.

Without a username column (flask-bcrypt-tutorial), the username is the email's
local part with characters Keycard refuses replaced by '_' (3 to 32 characters),
followed by -<id> if another user has it; users log in with their email anyway.

A row is skipped, with the reason, when its id, username or email breaks
Keycard's rules, its hash format is unknown or its cost is out of bounds, or its
id, username or email belongs to another Keycard user. A user already imported
(same id and username) is left as it is, so re-running is safe.

Options:
  --from <path|URL>      The Flask database: a SQLite file, or postgres://…
  --preset <name>        flask-jwt-tutorial: users(id, username, password)
                         flask-bcrypt-tutorial: users(id, email, password,
                         admin, registered_on)
  --table <name>         The users table (default: users)
  --id <column>          Its id column (default: id)
  --username <column>    The username column
  --email <column>       The email column
  --password <column>    The password hash column (default: password_hash)
  --admin <column>       A boolean column: the user is an administrator
  --registered-on <column>  A datetime column (naive times are UTC)
  --dry-run              Report what would be imported; write nothing
  --json                 Print the report as JSON
  -h, --help             Show this message

Column options override the preset's. Exit code 0 when the import ran (even if
rows were skipped), 1 on bad arguments or a database that cannot be read.

Examples:
  keycard import --from /srv/flask/instance/app.db --preset flask-jwt-tutorial
  keycard import --from postgres://flask@db/flask --preset flask-bcrypt-tutorial --dry-run
  keycard import --from app.db --table accounts --id user_id --username login --email mail --password pw_hash
`

const COLUMN_OPTIONS = ['table', 'id', 'username', 'email', 'password', 'admin', 'registered-on'] as const

function mappingOf(values: Record<string, string | boolean | undefined>): ColumnMapping {
  const preset = values.preset
  if (typeof preset === 'string' && !Object.hasOwn(PRESETS, preset))
    throw new UsageError(`unknown --preset ${JSON.stringify(preset)}: use ${Object.keys(PRESETS).join(' or ')}`)
  const base: ColumnMapping = typeof preset === 'string' ? PRESETS[preset]! : { table: 'users', id: 'id', password: 'password_hash' }
  const mapping: ColumnMapping = { ...base }
  for (const option of COLUMN_OPTIONS) {
    const value = values[option]
    if (typeof value !== 'string') continue
    const problem = identifierProblem(value)
    if (problem) throw new UsageError(`--${option} ${problem}`)
    mapping[option === 'registered-on' ? 'registeredOn' : option] = value
  }
  if (mapping.username === undefined && mapping.email === undefined)
    throw new UsageError('the source needs a --username or an --email column (or a --preset)')
  return mapping
}

function report(plan: ImportPlan, dryRun: boolean): string {
  const lines = [
    `${dryRun ? 'Would import' : 'Imported'} ${plan.users.length} user${plan.users.length === 1 ? '' : 's'}; ` +
      `${plan.already.length} already imported; skipped ${plan.skipped.length}.`,
  ]
  for (const u of plan.users)
    lines.push(`  + id ${u.id} ${u.username}${u.email ? ` <${u.email}>` : ''}${u.admin ? ' admin' : ''} (${u.format} hash)`)
  for (const s of plan.skipped) lines.push(`  - id ${String(s.id)}${s.login === null ? '' : ` ${JSON.stringify(s.login)}`}: ${s.reason}`)
  return `${lines.join('\n')}\n`
}

export const importCommand: Command = {
  name: 'import',
  help,
  async run(args) {
    const { values, positionals } = parseOrUsage(() =>
      parseArgs({
        args,
        options: {
          from: { type: 'string' },
          preset: { type: 'string' },
          ...Object.fromEntries(COLUMN_OPTIONS.map((o) => [o, { type: 'string' as const }])),
          'dry-run': { type: 'boolean' },
          json: { type: 'boolean' },
          help: HELP_OPTION,
        },
        allowPositionals: true,
      }),
    )
    if (values.help) {
      process.stdout.write(help)
      return 0
    }
    if (positionals.length > 0) throw new UsageError(`unexpected argument ${JSON.stringify(positionals[0])}`)
    const from = values.from
    if (typeof from !== 'string' || from === '') throw new UsageError('missing --from <sqlite file | postgres URL>')
    const mapping = mappingOf(values)
    const dryRun = values['dry-run'] === true
    const config = loadConfig(process.env)

    let rows: Awaited<ReturnType<typeof readSourceUsers>>
    try {
      rows = await readSourceUsers(from, mapping)
    } catch (err) {
      if (err instanceof SourceError) throw new CliError(err.message)
      throw err
    }
    const plan = await withDatabase(config, (db) => importUsers(db, rows, { dryRun }))
    if (values.json) {
      const users = plan.users.map(({ password_hash: _, registered_on, ...u }) => ({
        ...u,
        admin: u.admin === 1,
        registered_on: new Date(registered_on * 1000).toISOString(),
      }))
      process.stdout.write(
        `${JSON.stringify({ dry_run: dryRun, imported: users, already_imported: plan.already, skipped: plan.skipped }, null, 2)}\n`,
      )
    } else process.stdout.write(report(plan, dryRun))
    return 0
  },
}
