/**
 * User accounts: the rows behind them, created and found with the rules of identity-rules.ts. Shared
 * by the HTTP routes and the CLI (`keycard useradd`, `keycard users list|delete`).
 *
 * A username is stored as typed (NFC) and an email as normalised; each is unique by its folded key
 * column (`username_key`, `email_key`, with UNIQUE indexes), which is also what logins and lookups
 * match, so "ZOË" is taken by "Zoë" and logs in as her.
 */

import { type Kysely, sql } from 'kysely'
import type { PublicUser } from './api-types.ts'
import { dialectOf, writeTransaction } from './db/database.ts'
import { isUniqueViolation } from './db/errors.ts'
import type { Database, UserRow } from './db/schema.ts'
import { checkEmail, checkUsername, emailKey, loginKey, unicodeProblem, usernameKey } from './identity-rules.ts'
import type { PasswordHasher } from './passwords.ts'
import { passwordProblem } from './passwords.ts'

/** What the API shows of a user (the shape is in api-types.ts, which the account page imports too). */
export type { PublicUser }

/**
 * Thrown by createUser (and renameUser) when the username or email is taken, in any case; `field` names which.
 *
 * @example
 * if (err instanceof UserExistsError) throw new HttpError(409, err.message)
 */
export class UserExistsError extends Error {
  readonly field: 'username' | 'email'
  constructor(field: 'username' | 'email') {
    super(field === 'username' ? 'Username is already taken' : 'Email is already registered')
    this.name = 'UserExistsError'
    this.field = field
  }
}

/**
 * Thrown by createUser, checkIdentity and renameUser for a username, email or password that breaks
 * the rules; the message names the field ("username must start with a letter or digit").
 *
 * @example
 * if (err instanceof InvalidUserError) throw new HttpError(400, err.message)
 */
export class InvalidUserError extends Error {
  readonly field: 'username' | 'email' | 'password'
  constructor(field: 'username' | 'email' | 'password', problem: string) {
    super(`${field} ${problem}`)
    this.name = 'InvalidUserError'
    this.field = field
  }
}

/**
 * A row as the API shows it: no password hash or keys, `admin` a boolean, times ISO 8601.
 *
 * @example
 * reply.send(toPublicUser(user))
 */
export function toPublicUser(row: UserRow): PublicUser {
  return {
    id: row.id,
    username: row.username,
    email: row.email,
    admin: row.admin === 1,
    registered_on: new Date(row.registered_on * 1000).toISOString(),
  }
}

/**
 * What createUser takes: as typed, before the rules normalise it.
 *
 * @example
 * { username: 'Zoë', password: 'correct horse battery', email: null, admin: true }
 */
export interface NewUser {
  username: string
  password: string
  email?: string | null | undefined
  admin?: boolean
}

/**
 * A username and email that passed the rules: normalised, with their keys.
 *
 * @example
 * { username: 'Zoë', usernameKey: 'zoë', email: null, emailKey: null }
 */
export interface CheckedIdentity {
  username: string
  usernameKey: string
  email: string | null
  emailKey: string | null
}

/**
 * Normalises and checks a username and optional email (identity-rules.ts). Throws InvalidUserError
 * naming the field. The CLI calls it before asking for a password; createUser calls it again.
 *
 * @example
 * checkIdentity('Zoe\u0308', ' Zoë@Example.com') // { username: 'Zoë', usernameKey: 'zoë', email: 'Zoë@example.com', emailKey: 'zoë@example.com' }
 */
export function checkIdentity(username: string, email: string | null | undefined): CheckedIdentity {
  const name = checkUsername(username)
  if (!name.ok) throw new InvalidUserError('username', name.problem)
  let normalEmail: string | null = null
  if (email !== undefined && email !== null) {
    const checked = checkEmail(email)
    if (!checked.ok) throw new InvalidUserError('email', checked.problem)
    normalEmail = checked.value
  }
  return {
    username: name.value,
    usernameKey: usernameKey(name.value),
    email: normalEmail,
    emailKey: normalEmail === null ? null : emailKey(normalEmail),
  }
}

export interface CreateUserOptions {
  /**
   * More writes that belong with the new user (registration's first session), in the same transaction
   * as its insert: if they fail, the user is not created either, so a registration answered 503 leaves
   * nothing behind that would make its retry a 409.
   */
  andThen?: (trx: Kysely<Database>, user: UserRow) => Promise<void>
}

/**
 * Checks the rules, hashes the password and inserts the user (and runs `options.andThen` in the same
 * transaction). Throws InvalidUserError or UserExistsError; a registration that loses a race for a
 * name to another gets UserExistsError too.
 *
 * @example
 * const user = await createUser(db, hasher, { username: 'Zoë', password: 'correct horse battery', email: 'zoe@example.com' })
 * await createUser(db, hasher, input, { andThen: (trx, user) => sessions.start(user, { …, db: trx }) })
 */
export async function createUser(
  db: Kysely<Database>,
  hasher: PasswordHasher,
  input: NewUser,
  options: CreateUserOptions = {},
): Promise<UserRow> {
  const identity = checkIdentity(input.username, input.email)
  const passwordIssue = unicodeProblem(input.password) ?? passwordProblem(input.password)
  if (passwordIssue) throw new InvalidUserError('password', passwordIssue)

  // Checked before hashing so a taken name costs no argon2 time; the unique indexes still decide races.
  const taken = await takenField(db, identity)
  if (taken) throw new UserExistsError(taken)
  const passwordHash = await hasher.hash(input.password)
  const insert = (trx: Kysely<Database>) =>
    trx
      .insertInto('users')
      .values({
        username: identity.username,
        username_key: identity.usernameKey,
        email: identity.email,
        email_key: identity.emailKey,
        password_hash: passwordHash,
        admin: input.admin ? 1 : 0,
        registered_on: Math.floor(Date.now() / 1000),
      })
      .returningAll()
      .executeTakeFirstOrThrow()
  const { andThen } = options
  try {
    if (!andThen) return await insert(db)
    return await writeTransaction(db, async (trx) => {
      const user = await insert(trx)
      await andThen(trx, user)
      return user
    })
  } catch (err) {
    if (!isUniqueViolation(err)) throw err
    // The race was lost between the check and the insert: ask again which field it was.
    throw new UserExistsError((await takenField(db, identity)) ?? (/email/.test(String((err as Error).message)) ? 'email' : 'username'))
  }
}

/**
 * Which of a username and email (their keys) is already taken, the username first, or null.
 *
 * @example
 * await takenField(db, checkIdentity('ZOË', null)) // 'username' when "Zoë" exists
 */
export async function takenField(
  db: Kysely<Database>,
  identity: Pick<CheckedIdentity, 'usernameKey' | 'emailKey'>,
): Promise<'username' | 'email' | null> {
  const { usernameKey: uKey, emailKey: eKey } = identity
  const taken = await db
    .selectFrom('users')
    .select(['username_key'])
    .where((eb) => (eKey === null ? eb('username_key', '=', uKey) : eb.or([eb('username_key', '=', uKey), eb('email_key', '=', eKey)])))
    .execute()
  if (taken.some((u) => u.username_key === uKey)) return 'username'
  return taken.length > 0 ? 'email' : null
}

/**
 * The user a login name names: an email when it contains `@`, else a username; matched by key, so
 * case-insensitively and whatever the Unicode form ("ZOË", "Zoe\u0308" and "zoë" name "Zoë").
 *
 * @example
 * const user = await findUserByLogin(db, 'ZOË')
 */
export async function findUserByLogin(db: Kysely<Database>, login: string): Promise<UserRow | undefined> {
  const { column, key } = loginKey(login)
  return db.selectFrom('users').selectAll().where(column, '=', key).executeTakeFirst()
}

/**
 * The user with this id, or undefined.
 *
 * @example
 * const user = await findUserById(db, Number(claims.sub))
 */
export async function findUserById(db: Kysely<Database>, id: number): Promise<UserRow | undefined> {
  return db.selectFrom('users').selectAll().where('id', '=', id).executeTakeFirst()
}

/**
 * The largest id a user can have on `db`: PostgreSQL's ids are 32-bit (serial), so a larger number names
 * no user there, and querying with it would be an error rather than "not found".
 *
 * @example
 * const user = id <= maxUserId(db) ? await findUserById(db, id) : undefined
 */
export function maxUserId(db: Kysely<Database>): number {
  return dialectOf(db) === 'postgres' ? 2 ** 31 - 1 : Number.MAX_SAFE_INTEGER
}

/** A page of `listUsers`: `next` is the `after` of the following page, null on the last one. */
export interface UserRowPage {
  users: UserRow[]
  total: number
  next: number | null
}

/**
 * A page of users by id, from the first id above `after` (keyset paging: the primary key's index finds the
 * page's start, so page 20 000 costs what page 1 does, where OFFSET reads and drops every row before it),
 * and how many users there are in all.
 *
 * @example
 * const first = await listUsers(db, { limit: 50 })
 * const second = first.next === null ? undefined : await listUsers(db, { limit: 50, after: first.next })
 */
export async function listUsers(db: Kysely<Database>, page: { limit: number; after?: number } = { limit: 50 }): Promise<UserRowPage> {
  let query = db
    .selectFrom('users')
    .selectAll()
    .orderBy('id')
    .limit(page.limit + 1)
  // As a bigint: PostgreSQL's ids are 32-bit (serial), and a larger `after` is then past every user, not an error.
  if (page.after !== undefined) query = query.where('id', '>', sql<number>`cast(${page.after} as bigint)`)
  // One row more than the page says whether there is a next page.
  const rows = await query.execute()
  const users = rows.slice(0, page.limit)
  const { total } = await db
    .selectFrom('users')
    .select((eb) => eb.fn.countAll<number>().as('total'))
    .executeTakeFirstOrThrow()
  return { users, total: Number(total), next: rows.length > page.limit ? users[users.length - 1]!.id : null }
}

/**
 * Gives a user a new username, by the same rules as registration (InvalidUserError), unless another
 * user has it in any case (UserExistsError). A user may take their own name in another case: this is
 * how a name the old rules stored lower-cased gets its capitals back. Returns the row, or undefined
 * when there is no such user.
 *
 * @example
 * await renameUser(db, 7, 'Carol')
 */
export async function renameUser(db: Kysely<Database>, id: number, username: string): Promise<UserRow | undefined> {
  const { username: name, usernameKey: key } = checkIdentity(username, null)
  const holder = await db.selectFrom('users').select('id').where('username_key', '=', key).executeTakeFirst()
  if (holder && holder.id !== id) throw new UserExistsError('username')
  try {
    return await db.updateTable('users').set({ username: name, username_key: key }).where('id', '=', id).returningAll().executeTakeFirst()
  } catch (err) {
    if (isUniqueViolation(err)) throw new UserExistsError('username')
    throw err
  }
}

/**
 * Replaces a user's password hash (a password change, or a rehash with new argon2 parameters).
 *
 * @example
 * await setPasswordHash(db, user.id, await hasher.hash(newPassword))
 */
export async function setPasswordHash(db: Kysely<Database>, id: number, passwordHash: string): Promise<void> {
  await db.updateTable('users').set({ password_hash: passwordHash }).where('id', '=', id).execute()
}

/**
 * A session revoked as a side effect: its id and when its last token expires.
 *
 * @example
 * revocations.add(await deleteUser(db, id) ?? [])
 */
export interface RevokedSession {
  id: string
  expires_at: number
}

/**
 * Deletes a user and revokes every one of their sessions, in one transaction of two statements.
 * Returns null when there is no such user, else the sessions revoked (so a running server can update
 * its in-memory revocation state; see revocations.ts).
 */
export async function deleteUser(db: Kysely<Database>, id: number): Promise<RevokedSession[] | null> {
  return db.transaction().execute(async (trx) => {
    const now = Math.floor(Date.now() / 1000)
    const revoked = await trx
      .updateTable('sessions')
      .set({ revoked_at: now })
      .where('user_id', '=', id)
      .where('revoked_at', 'is', null)
      .returning(['id', 'expires_at'])
      .execute()
    const { numDeletedRows } = await trx.deleteFrom('users').where('id', '=', id).executeTakeFirst()
    return numDeletedRows > 0n ? revoked : null
  })
}
