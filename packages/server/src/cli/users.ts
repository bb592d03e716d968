/**
 * `keycard users list`, `keycard users delete` and `keycard users rename`: the CLI side of GET and
 * DELETE /admin/users (users.ts listUsers, deleteUser), and renaming (users.ts renameUser).
 */

import { parseArgs } from 'node:util'
import type { Kysely } from 'kysely'
import { AuditLog } from '../audit/log.ts'
import { loadConfig } from '../config.ts'
import type { Database, UserRow } from '../db/schema.ts'
import { nowSeconds } from '../revocations.ts'
import {
  deleteUser,
  findUserById,
  findUserByLogin,
  InvalidUserError,
  listUsers,
  maxUserId,
  renameUser,
  toPublicUser,
  UserExistsError,
} from '../users.ts'
import { CliError, HELP_OPTION, integerOption, parseOrUsage, UsageError, withDatabase, type Command } from './command.ts'
import { confirm } from './prompt.ts'

const MAX_LIMIT = 1000

const listHelp = `Usage: keycard users list [--limit <n>] [--after <id>] [--json]

Lists users by id, as a table, or as JSON shaped like GET /admin/users:
{"users": [{id, username, email, admin, registered_on}], "total", "limit", "next"}.
Pages are by key: the next page starts after the last id shown (the JSON's "next",
null on the last page).

Options:
  --limit <n>    How many users to show, 1 to ${MAX_LIMIT} (default 50)
  --after <id>   Start after this user id (the previous page's last; default: the first user)
  --json         Print JSON instead of a table
  -h, --help     Show this message

Examples:
  keycard users list
  keycard users list --limit 100 --after 100
  keycard users list --json | jq -r '.users[].username'
`

const deleteHelp = `Usage: keycard users delete <username|email|id> [--yes]

Deletes a user and revokes every one of their login sessions, as
DELETE /admin/users/:id does. The username or email may be given in any case. Asks for confirmation on a terminal; without a
terminal, pass --yes.

A running server picks up the revocation within about a second (at once on
PostgreSQL; their refresh tokens stop working at once). DELETE /admin/users/:id
has no such delay on the server that answers it.

Options:
  -y, --yes     Do not ask for confirmation
  -h, --help    Show this message

Examples:
  keycard users delete alice
  keycard users delete 42 --yes
`

const renameHelp = `Usage: keycard users rename <username|email|id> <new-username>

Gives a user a new username, by the same rules as keycard useradd. It may be
their own name in another case (alice -> Alice), but not another user's name in
any case. Their tokens and sessions are unaffected (tokens name users by id).

Options:
  -h, --help    Show this message

Examples:
  keycard users rename alice Alice
  keycard users rename 7 carol2
`

const usersHelp = `Usage: keycard users <list|delete|rename> [options]

Commands:
  list      List users (table or JSON)
  delete    Delete a user and revoke their sessions
  rename    Give a user a new username

Run \`keycard users <command> --help\` for its options.
`

function table(rows: string[][]): string {
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)))
  return `${rows.map((r) => r.map((cell, i) => (i === r.length - 1 ? cell : cell.padEnd(widths[i]!))).join('  ')).join('\n')}\n`
}

export const usersList: Command = {
  name: 'users list',
  help: listHelp,
  async run(args) {
    const { values, positionals } = parseOrUsage(() =>
      parseArgs({
        args,
        options: {
          limit: { type: 'string' },
          after: { type: 'string' },
          offset: { type: 'string' },
          json: { type: 'boolean' },
          help: HELP_OPTION,
        },
        allowPositionals: true,
      }),
    )
    if (values.help) {
      process.stdout.write(listHelp)
      return 0
    }
    if (positionals.length > 0) throw new UsageError(`unexpected argument ${JSON.stringify(positionals[0])}`)
    const limit = integerOption('limit', values.limit, 50, 1, MAX_LIMIT)
    // Known only to say what replaced it.
    if (values.offset !== undefined)
      throw new UsageError('--offset is gone: pages are by key; pass --after <the last id of the previous page>')
    const after = values.after === undefined ? undefined : integerOption('after', values.after, 0, 0, 9_999_999_999)
    const config = loadConfig(process.env)

    const page = await withDatabase(config, (db) => listUsers(db, after === undefined ? { limit } : { limit, after }))
    const users = page.users.map(toPublicUser)
    if (values.json) {
      process.stdout.write(`${JSON.stringify({ users, total: page.total, limit, next: page.next }, null, 2)}\n`)
      return 0
    }
    if (users.length === 0) {
      process.stdout.write(
        page.total === 0
          ? 'No users yet. Create one with: keycard useradd <username>\n'
          : `No users after id ${after} (there are ${page.total}).\n`,
      )
      return 0
    }
    const rows = [
      ['ID', 'USERNAME', 'EMAIL', 'ADMIN', 'REGISTERED'],
      ...users.map((u) => [String(u.id), u.username, u.email ?? '-', u.admin ? 'yes' : 'no', u.registered_on]),
    ]
    process.stdout.write(table(rows))
    process.stdout.write(`\n${users.length} of ${page.total} user${page.total === 1 ? '' : 's'}\n`)
    if (page.next !== null)
      process.stdout.write(`Next page: keycard users list${values.limit === undefined ? '' : ` --limit ${limit}`} --after ${page.next}\n`)
    return 0
  },
}

/**
 * The user `ref` names: an email when it contains `@`, else a username, or an id when all digits. An
 * all-digit username is valid, so when a number names two different users the command refuses.
 */
async function resolveUser(db: Kysely<Database>, ref: string): Promise<UserRow> {
  const byLogin = await findUserByLogin(db, ref)
  const byId = /^\d{1,15}$/.test(ref) && Number(ref) <= maxUserId(db) ? await findUserById(db, Number(ref)) : undefined
  if (byLogin && byId && byLogin.id !== byId.id) {
    throw new CliError(
      `"${ref}" names two users: id ${byId.id} (${byId.username}) and username ${byLogin.username} (id ${byLogin.id}); give the other one's username or id`,
    )
  }
  const user = byLogin ?? byId
  if (!user) throw new CliError(`no user ${JSON.stringify(ref)}`)
  return user
}

export const usersDelete: Command = {
  name: 'users delete',
  help: deleteHelp,
  async run(args) {
    const { values, positionals } = parseOrUsage(() =>
      parseArgs({ args, options: { yes: { type: 'boolean', short: 'y' }, help: HELP_OPTION }, allowPositionals: true }),
    )
    if (values.help) {
      process.stdout.write(deleteHelp)
      return 0
    }
    const [ref, extra] = positionals
    if (ref === undefined) throw new UsageError('missing <username|email|id>')
    if (extra !== undefined) throw new UsageError(`unexpected argument ${JSON.stringify(extra)}`)
    const config = loadConfig(process.env)

    return withDatabase(config, async (db) => {
      const user = await resolveUser(db, ref)
      if (!values.yes) {
        if (!process.stdin.isTTY)
          throw new CliError(`not deleting ${user.username} without confirmation: stdin is not a terminal; pass --yes`)
        const ok = await confirm(
          process.stdin,
          process.stderr,
          `Delete user ${user.username} (id ${user.id}) and revoke all their sessions?`,
        )
        if (!ok) {
          process.stderr.write('Nothing deleted.\n')
          return 1
        }
      }
      // The admin API's own path: one transaction that revokes every session, then deletes the row.
      const revoked = await deleteUser(db, user.id)
      if (revoked === null) throw new CliError(`no user ${JSON.stringify(ref)} (deleted meanwhile)`)
      await new AuditLog(db).record({
        type: 'user.deleted',
        userId: user.id,
        username: user.username,
        detail: { via: 'cli', revoked_sessions: revoked.length },
      })
      const live = revoked.filter((s) => s.expires_at > nowSeconds()).length
      process.stdout.write(`Deleted user ${user.username} (id ${user.id}); revoked ${live} active session${live === 1 ? '' : 's'}.\n`)
      return 0
    })
  },
}

export const usersRename: Command = {
  name: 'users rename',
  help: renameHelp,
  async run(args) {
    const { values, positionals } = parseOrUsage(() => parseArgs({ args, options: { help: HELP_OPTION }, allowPositionals: true }))
    if (values.help) {
      process.stdout.write(renameHelp)
      return 0
    }
    const [ref, username, extra] = positionals
    if (ref === undefined) throw new UsageError('missing <username|email|id>')
    if (username === undefined) throw new UsageError('missing <new-username>')
    if (extra !== undefined) throw new UsageError(`unexpected argument ${JSON.stringify(extra)}`)
    const config = loadConfig(process.env)

    return withDatabase(config, async (db) => {
      const user = await resolveUser(db, ref)
      let renamed: UserRow | undefined
      try {
        renamed = await renameUser(db, user.id, username)
      } catch (err) {
        if (err instanceof InvalidUserError) throw new CliError(err.message)
        if (err instanceof UserExistsError)
          throw new CliError(`username ${JSON.stringify(username.normalize('NFC'))} is already taken by another user`)
        throw err
      }
      if (!renamed) throw new CliError(`no user ${JSON.stringify(ref)} (deleted meanwhile)`)
      await new AuditLog(db).record({
        type: 'user.renamed',
        userId: user.id,
        username: renamed.username,
        detail: { from: user.username, to: renamed.username, via: 'cli' },
      })
      process.stdout.write(`Renamed user ${user.username} (id ${user.id}) to ${renamed.username}.\n`)
      return 0
    })
  },
}

const SUBCOMMANDS: Record<string, Command> = { list: usersList, delete: usersDelete, rename: usersRename }

export const users: Command = {
  name: 'users',
  help: usersHelp,
  async run(args) {
    const [word, ...rest] = args
    if (word === '-h' || word === '--help' || word === 'help') {
      const sub = word === 'help' && rest[0] !== undefined ? SUBCOMMANDS[rest[0]] : undefined
      process.stdout.write(sub ? sub.help : usersHelp)
      return 0
    }
    if (word === undefined) throw new UsageError('missing command: list, delete or rename')
    const sub = Object.hasOwn(SUBCOMMANDS, word) ? SUBCOMMANDS[word] : undefined
    if (!sub) throw new UsageError(word.startsWith('-') ? `Unknown option '${word}'` : `unknown command "users ${word}"`)
    try {
      return await sub.run(rest)
    } catch (err) {
      if ((err instanceof UsageError || err instanceof CliError) && !err.command) err.command = sub
      throw err
    }
  },
}
