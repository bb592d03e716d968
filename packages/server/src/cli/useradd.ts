/**
 * `keycard useradd <username> [--email E] [--admin]`: creates a user with the same rules as
 * `POST /auth/register` (users.ts createUser). The password comes from a hidden prompt, asked twice,
 * when stdin is a terminal, else from the first line of stdin. It is never printed.
 */

import { parseArgs } from 'node:util'
import { AuditLog } from '../audit/log.ts'
import { loadConfig } from '../config.ts'
import { createPasswordHasher, passwordProblem } from '../passwords.ts'
import { unicodeProblem } from '../identity-rules.ts'
import { checkIdentity, createUser, InvalidUserError, takenField, UserExistsError } from '../users.ts'
import { CliError, HELP_OPTION, parseOrUsage, UsageError, withDatabase, type Command } from './command.ts'
import { readFirstLine, readHiddenLine, type PromptInput } from './prompt.ts'

const help = `Usage: keycard useradd <username> [--email <email>] [--admin]

Creates a user, with the same rules as POST /auth/register:
  username  3 to 32 characters: letters and digits of any script, '_', '.'
            or '-', starting with a letter or digit; kept as typed, unique
            ignoring case ("ZOË" is taken by "Zoë")
  email     optional; name@example.com; unique ignoring case
  password  at least 8 characters, at most 1024 bytes

The password is asked twice at a hidden prompt when stdin is a terminal.
Otherwise it is the first line of stdin (without its line ending; spaces are
kept). It is never printed.

Options:
  --email <email>   The user's email; they can log in with it too
  --admin           Make the user an administrator (GET/DELETE /admin/users)
  -h, --help        Show this message

Examples:
  keycard useradd alice --email alice@example.com --admin
  printf '%s\\n' "$ALICE_PASSWORD" | keycard useradd alice
`

/** The new password: hidden prompt, asked twice, on a terminal; the first line of stdin otherwise. */
async function readNewPassword(stdin: PromptInput): Promise<string> {
  if (stdin.isTTY && stdin.setRawMode) {
    const password = await readHiddenLine(stdin, process.stderr, 'Password: ')
    const problem = unicodeProblem(password) ?? passwordProblem(password)
    if (problem) throw new CliError(`password ${problem}`)
    const again = await readHiddenLine(stdin, process.stderr, 'Repeat password: ')
    if (again !== password) throw new CliError('the passwords do not match; nothing was created')
    return password
  }
  const line = await readFirstLine(stdin)
  if (line === null)
    throw new CliError(`no password on stdin: give it as the first line, e.g. printf '%s\\n' "$PASSWORD" | keycard useradd <username>`)
  return line
}

export const useradd: Command = {
  name: 'useradd',
  help,
  async run(args) {
    const { values, positionals } = parseOrUsage(() =>
      parseArgs({ args, options: { email: { type: 'string' }, admin: { type: 'boolean' }, help: HELP_OPTION }, allowPositionals: true }),
    )
    if (values.help) {
      process.stdout.write(help)
      return 0
    }
    const [username, extra] = positionals
    if (username === undefined) throw new UsageError('missing <username>')
    if (extra !== undefined) throw new UsageError(`unexpected argument ${JSON.stringify(extra)}`)
    const email = values.email
    const admin = values.admin ?? false

    // Everything that can be checked without the password is checked before asking for it.
    let identity: ReturnType<typeof checkIdentity>
    try {
      identity = checkIdentity(username, email)
    } catch (err) {
      if (err instanceof InvalidUserError) throw new CliError(err.message)
      throw err
    }
    const config = loadConfig(process.env)
    const taken = (field: 'username' | 'email') =>
      new CliError(
        field === 'username'
          ? `username ${JSON.stringify(identity.username)} is already taken`
          : `email ${JSON.stringify(identity.email)} is already registered`,
      )

    return withDatabase(config, async (db) => {
      const field = await takenField(db, identity)
      if (field) throw taken(field)

      const password = await readNewPassword(process.stdin)
      try {
        const user = await createUser(db, createPasswordHasher(config.argon2), { username, password, email: email ?? null, admin })
        await new AuditLog(db).record({
          type: 'user.created',
          userId: user.id,
          username: user.username,
          detail: { admin: user.admin === 1, via: 'cli' },
        })
        const details = [`id ${user.id}`, ...(user.email ? [user.email] : []), ...(user.admin === 1 ? ['admin'] : [])]
        process.stdout.write(`Created user ${user.username} (${details.join(', ')}).\n`)
        return 0
      } catch (err) {
        // InvalidUserError's message names the field and the rule ("password must be at least 8 characters").
        if (err instanceof InvalidUserError) throw new CliError(err.message)
        if (err instanceof UserExistsError) throw taken(err.field)
        throw err
      }
    })
  },
}
