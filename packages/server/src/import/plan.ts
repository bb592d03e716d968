/**
 * What `keycard import` does with each source row, decided before anything is written (so `--dry-run`
 * reports exactly what a real run would do): import it under its own id, or skip it and say why.
 * Pure: it sees the source rows and the ids, username keys and email keys Keycard already has.
 *
 * A row already in Keycard under the same id and the same username key is "already imported" and left
 * alone (its password may have been re-hashed or changed since), which makes a re-run safe.
 */

import { checkEmail, checkUsername, emailKey, USERNAME_MAX, usernameKey } from '../identity-rules.ts'
import { parseLegacyHash } from '../legacy-hashes.ts'
import type { SourceRow } from './source.ts'

/** A user row to insert, id kept from the source. */
export interface ImportedUser {
  id: number
  username: string
  email: string | null
  password_hash: string
  admin: number
  registered_on: number
  /** The hash's format (never the hash): 'bcrypt', 'passlib-pbkdf2-sha256', … or 'argon2'. */
  format: string
  /** `true` when the username was made from the email (the source has no username column). */
  derived: boolean
}

/** A source row that is not imported; `login` is its username or email as found, `reason` says why. */
export interface SkippedRow {
  id: unknown
  login: string | null
  reason: string
}

/** What Keycard's database already holds: the owner id of each key. */
export interface ExistingUsers {
  byId: Map<number, string>
  usernameKeys: Map<string, number>
  emailKeys: Map<string, number>
}

/** The outcome of {@link planImport}. */
export interface ImportPlan {
  users: ImportedUser[]
  skipped: SkippedRow[]
  /** Ids already imported (same id, same username): left as they are. */
  already: { id: number; username: string }[]
}

const USERNAME_CHAR = /[\p{L}\p{Nd}\p{M}_.-]/u
const START = /^[\p{L}\p{Nd}]/u

/** A valid username made from an email's local part: bad characters become `_`, 3 to 32 characters. */
export function usernameFromEmail(email: string): string {
  let name = [...email.slice(0, email.lastIndexOf('@')).normalize('NFC')].map((ch) => (USERNAME_CHAR.test(ch) ? ch : '_')).join('')
  if (!START.test(name)) name = `u${name}`
  name = [...name].slice(0, USERNAME_MAX).join('')
  while ([...name].length < 3) name += '_'
  return name
}

function text(value: unknown): string | null {
  if (typeof value === 'string') return value
  if (Buffer.isBuffer(value)) return value.toString('utf8') // Flask-Bcrypt hashes stored as bytes
  return null
}

function flag(value: unknown): number {
  return value === true || value === 1 || value === 1n || (typeof value === 'string' && /^(?:1|t|true|y|yes)$/i.test(value)) ? 1 : 0
}

/** Epoch seconds of a source datetime; naive datetimes (SQLAlchemy's DateTime) are taken as UTC. */
function epochSeconds(value: unknown, fallback: number): number {
  if (value instanceof Date) return Math.floor(value.getTime() / 1000)
  if (typeof value === 'number' && Number.isFinite(value)) return Math.floor(value > 1e11 ? value / 1000 : value)
  if (typeof value === 'string') {
    const iso = value.trim().replace(' ', 'T')
    const ms = Date.parse(/[zZ]|[+-]\d\d:?\d\d$/.test(iso) || !iso.includes('T') ? iso : `${iso}Z`)
    if (Number.isFinite(ms)) return Math.floor(ms / 1000)
  }
  return fallback
}

function hashFormat(hash: string): { format: string } | { problem: string } {
  if (/^\$argon2(?:id|i|d)\$/.test(hash)) return { format: 'argon2' }
  const parsed = parseLegacyHash(hash)
  return parsed.ok ? { format: parsed.hash.format } : { problem: parsed.problem }
}

/**
 * Decides each row's fate; `existing` is updated as rows are accepted, so duplicates within the source
 * are caught too (the first, by id, wins).
 *
 * @example
 * const plan = planImport(rows, existing, { maxId: 2 ** 31 - 1, now: Math.floor(Date.now() / 1000) })
 * plan.users.length // rows to insert
 */
export function planImport(rows: SourceRow[], existing: ExistingUsers, options: { maxId: number; now: number }): ImportPlan {
  const plan: ImportPlan = { users: [], skipped: [], already: [] }
  for (const row of rows) {
    const rawUsername = text(row.username)
    const rawEmail = text(row.email)
    const login = rawUsername ?? rawEmail
    const skip = (reason: string) => plan.skipped.push({ id: row.id, login, reason })
    const id =
      typeof row.id === 'bigint' ? Number(row.id) : typeof row.id === 'string' && /^\d{1,15}$/.test(row.id) ? Number(row.id) : row.id
    if (typeof id !== 'number' || !Number.isSafeInteger(id) || id < 1 || id > options.maxId) {
      skip(`id must be a positive integer up to ${options.maxId}`)
      continue
    }
    let email: string | null = null
    if (rawEmail !== null && rawEmail.trim() !== '') {
      const checked = checkEmail(rawEmail)
      if (!checked.ok) {
        skip(`email ${checked.problem}`)
        continue
      }
      email = checked.value
    }
    let username: string
    const derived = row.username === undefined
    if (!derived) {
      if (rawUsername === null) {
        skip('username is missing')
        continue
      }
      const checked = checkUsername(rawUsername)
      if (!checked.ok) {
        skip(`username ${checked.problem}`)
        continue
      }
      username = checked.value
    } else {
      if (email === null) {
        skip('email is missing (the username is made from it)')
        continue
      }
      username = usernameFromEmail(email)
      const owner = existing.usernameKeys.get(usernameKey(username))
      // Taken by someone else: the id makes it unique (`alice-7`).
      if (owner !== undefined && owner !== id) username = `${[...username].slice(0, USERNAME_MAX - String(id).length - 1).join('')}-${id}`
    }
    const key = usernameKey(username)
    const holder = existing.byId.get(id)
    if (holder !== undefined) {
      if (holder === key) plan.already.push({ id, username })
      else skip(`id ${id} is taken by a different Keycard user`)
      continue
    }
    if (existing.usernameKeys.has(key)) {
      skip(`username ${JSON.stringify(username)} is taken by another user (id ${existing.usernameKeys.get(key)})`)
      continue
    }
    const mailKey = email === null ? null : emailKey(email)
    if (mailKey !== null && existing.emailKeys.has(mailKey)) {
      skip(`email ${JSON.stringify(email)} is taken by another user (id ${existing.emailKeys.get(mailKey)})`)
      continue
    }
    const hash = text(row.password)
    if (hash === null || hash === '') {
      skip('password hash is missing')
      continue
    }
    const format = hashFormat(hash)
    if ('problem' in format) {
      skip(`password hash: ${format.problem}`)
      continue
    }
    existing.byId.set(id, key)
    existing.usernameKeys.set(key, id)
    if (mailKey !== null) existing.emailKeys.set(mailKey, id)
    plan.users.push({
      id,
      username,
      email,
      password_hash: hash,
      admin: flag(row.admin),
      registered_on: epochSeconds(row.registeredOn, options.now),
      format: format.format,
      derived,
    })
  }
  return plan
}
