/**
 * User accounts: the rules for usernames and emails, and the rows behind them. Shared by the HTTP
 * routes and the CLI (`keycard useradd`, `keycard users list|delete`).
 *
 * Rules: a username is 3 to 32 characters of letters, digits, `_`, `.` and `-`, starting with a letter
 * or digit; it is case-insensitive (stored lower-cased) and never contains `@`, so a login name with
 * `@` is always an email. An email is optional, at most 254 characters, `local@domain.tld` with no
 * spaces, case-insensitive (stored lower-cased) and unique.
 */

import type { Kysely } from 'kysely'
import type { PublicUser } from './api-types.ts'
import type { Database, UserRow } from './db/schema.ts'
import type { PasswordHasher } from './passwords.ts'
import { passwordProblem } from './passwords.ts'

const USERNAME = /^[a-z0-9][a-z0-9_.-]{2,31}$/
const EMAIL = /^[^\s@]+@[^\s@]+\.[^\s@]+$/

/** What the API shows of a user (the shape is in api-types.ts, which the account page imports too). */
export type { PublicUser }

/** Why a username is refused (the end of "username …"), or null. */
export function usernameProblem(username: string): string | null {
  return USERNAME.test(username.toLowerCase()) ? null : "must be 3 to 32 characters: letters, digits, '_', '.' or '-', starting with a letter or digit"
}

/** Why an email is refused (the end of "email …"), or null. */
export function emailProblem(email: string): string | null {
  return email.length <= 254 && EMAIL.test(email) ? null : 'must be an email address such as name@example.com'
}

/** Thrown by createUser when the username or email is taken; `field` names which. */
export class UserExistsError extends Error {
  readonly field: 'username' | 'email'
  constructor(field: 'username' | 'email') {
    super(field === 'username' ? 'Username is already taken' : 'Email is already registered')
    this.name = 'UserExistsError'
    this.field = field
  }
}

/** Thrown by createUser for a username, email or password that breaks the rules. */
export class InvalidUserError extends Error {
  readonly field: 'username' | 'email' | 'password'
  constructor(field: 'username' | 'email' | 'password', problem: string) {
    super(`${field} ${problem}`)
    this.name = 'InvalidUserError'
    this.field = field
  }
}

export function toPublicUser(row: UserRow): PublicUser {
  return { id: row.id, username: row.username, email: row.email, admin: row.admin === 1, registered_on: new Date(row.registered_on * 1000).toISOString() }
}

export interface NewUser {
  username: string
  password: string
  email?: string | null | undefined
  admin?: boolean
}

/** Checks the rules, hashes the password and inserts the user. Throws InvalidUserError or UserExistsError. */
export async function createUser(db: Kysely<Database>, hasher: PasswordHasher, input: NewUser): Promise<UserRow> {
  const usernameIssue = usernameProblem(input.username)
  if (usernameIssue) throw new InvalidUserError('username', usernameIssue)
  const email = input.email === undefined || input.email === null ? null : input.email.toLowerCase()
  const emailIssue = email === null ? null : emailProblem(email)
  if (emailIssue) throw new InvalidUserError('email', emailIssue)
  const passwordIssue = passwordProblem(input.password)
  if (passwordIssue) throw new InvalidUserError('password', passwordIssue)
  const username = input.username.toLowerCase()

  // Checked before hashing so a taken name costs no argon2 time; the unique indexes still decide races.
  await assertAvailable(db, username, email)
  const passwordHash = await hasher.hash(input.password)
  try {
    return await db
      .insertInto('users')
      .values({ username, email, password_hash: passwordHash, admin: input.admin ? 1 : 0, registered_on: Math.floor(Date.now() / 1000) })
      .returningAll()
      .executeTakeFirstOrThrow()
  } catch (err) {
    const message = String((err as Error).message)
    if (/unique/i.test(message)) throw new UserExistsError(/email/.test(message) ? 'email' : 'username')
    throw err
  }
}

async function assertAvailable(db: Kysely<Database>, username: string, email: string | null): Promise<void> {
  const taken = await db
    .selectFrom('users')
    .select(['username', 'email'])
    .where((eb) => (email === null ? eb('username', '=', username) : eb.or([eb('username', '=', username), eb('email', '=', email)])))
    .execute()
  if (taken.some((u) => u.username === username)) throw new UserExistsError('username')
  if (taken.length > 0) throw new UserExistsError('email')
}

/** The user a login name names: an email when it contains `@`, else a username; case-insensitive. */
export async function findUserByLogin(db: Kysely<Database>, login: string): Promise<UserRow | undefined> {
  const name = login.toLowerCase()
  return db.selectFrom('users').selectAll().where(name.includes('@') ? 'email' : 'username', '=', name).executeTakeFirst()
}

export async function findUserById(db: Kysely<Database>, id: number): Promise<UserRow | undefined> {
  return db.selectFrom('users').selectAll().where('id', '=', id).executeTakeFirst()
}

/** A page of users by id, and how many there are in all. */
export async function listUsers(db: Kysely<Database>, page: { limit: number; offset: number } = { limit: 50, offset: 0 }): Promise<{ users: UserRow[]; total: number }> {
  const users = await db.selectFrom('users').selectAll().orderBy('id').limit(page.limit).offset(page.offset).execute()
  const { total } = await db.selectFrom('users').select((eb) => eb.fn.countAll<number>().as('total')).executeTakeFirstOrThrow()
  return { users, total: Number(total) }
}

export async function setPasswordHash(db: Kysely<Database>, id: number, passwordHash: string): Promise<void> {
  await db.updateTable('users').set({ password_hash: passwordHash }).where('id', '=', id).execute()
}

/** A session revoked as a side effect: its id and when its last token expires. */
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
