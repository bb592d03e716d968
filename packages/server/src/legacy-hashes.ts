/**
 * Password hashes a Flask app may hold, checked so imported users (`keycard import`) can log in with
 * their old passwords; the login route then re-hashes them to argon2id (passwords.ts needsRehash).
 * Each format is parsed strictly and its cost parameters are bounded, so a crafted row cannot make one
 * login cost minutes of CPU or gigabytes of memory: a hash outside the bounds is refused, not run.
 *
 * - passlib `pbkdf2_sha256`: `$pbkdf2-sha256$<rounds>$<ab64 salt>$<ab64 digest>`
 * - bcrypt (Flask-Bcrypt, passlib): `$2a$` / `$2b$` / `$2y$<cost>$<22 chars salt><31 chars digest>`
 * - Werkzeug `generate_password_hash`: `pbkdf2:sha256:<iterations>$<salt>$<hex>`, `scrypt:<n>:<r>:<p>$<salt>$<hex>`
 *
 * PBKDF2 and scrypt are node:crypto's (libuv thread pool), bcrypt is @node-rs/bcrypt's (native, off the
 * event loop); digests are compared with timingSafeEqual.
 */

import { pbkdf2, scrypt, timingSafeEqual } from 'node:crypto'
import { promisify } from 'node:util'
import { verify as bcryptVerify } from '@node-rs/bcrypt'

const pbkdf2Async = promisify(pbkdf2)
const scryptAsync = promisify(scrypt) as (password: Buffer, salt: Buffer, keylen: number, options: object) => Promise<Buffer>

/** Most PBKDF2 iterations accepted (Werkzeug 3.1 writes 1,000,000; passlib 29,000). */
export const MAX_PBKDF2_ITERATIONS = 2_000_000
/** Highest bcrypt cost accepted (Flask-Bcrypt and passlib write 12). */
export const MAX_BCRYPT_COST = 15
/** Most memory one scrypt check may use, 128·n·r bytes (Werkzeug's default n=2^15, r=8 is 32 MiB). */
export const MAX_SCRYPT_MEMORY = 64 * 1024 * 1024
/** Highest scrypt parallelism accepted (Werkzeug writes 1). */
export const MAX_SCRYPT_P = 4

/** The formats {@link parseLegacyHash} knows. */
export type LegacyFormat = 'passlib-pbkdf2-sha256' | 'bcrypt' | 'werkzeug-pbkdf2-sha256' | 'werkzeug-scrypt'

/** A parsed legacy hash: what to compute and what it must equal. */
export type LegacyHash =
  | { format: 'passlib-pbkdf2-sha256' | 'werkzeug-pbkdf2-sha256'; iterations: number; salt: Buffer; digest: Buffer }
  | { format: 'werkzeug-scrypt'; n: number; r: number; p: number; salt: Buffer; digest: Buffer }
  | { format: 'bcrypt'; stored: string }

/** What {@link parseLegacyHash} says: the parsed hash, or why it is refused (never the hash itself). */
export type LegacyParse = { ok: true; hash: LegacyHash } | { ok: false; problem: string }

const AB64 = /^[A-Za-z0-9./]+$/
const HEX = /^(?:[0-9a-f]{2})+$/
const DECIMAL = /^[1-9]\d{0,9}$/
const BCRYPT = /^\$2[aby]\$(\d\d)\$[./A-Za-z0-9]{53}$/
// Werkzeug salts are printable ASCII without `$` (it generates 16 alphanumerics).
const WERKZEUG_SALT = /^[!-#%-~]{1,128}$/

/** passlib's "adapted base64": `.` for `+`, no padding. */
function ab64(text: string): Buffer | null {
  if (!AB64.test(text) || text.length % 4 === 1) return null
  return Buffer.from(text.replaceAll('.', '+'), 'base64')
}

function positive(text: string, max: number): number | null {
  if (!DECIMAL.test(text)) return null
  const value = Number(text)
  return value <= max ? value : null
}

/**
 * Parses a stored hash of one of the legacy formats, strictly and within the cost bounds.
 *
 * @example
 * parseLegacyHash('$pbkdf2-sha256$29000$N2Y…$…') // { ok: true, hash: { format: 'passlib-pbkdf2-sha256', … } }
 * parseLegacyHash('md5$abc')                     // { ok: false, problem: 'unknown hash format' }
 */
export function parseLegacyHash(stored: string): LegacyParse {
  if (stored.startsWith('$pbkdf2-sha256$')) {
    const parts = stored.split('$') // ['', 'pbkdf2-sha256', rounds, salt, digest]
    if (parts.length !== 5) return { ok: false, problem: 'malformed passlib pbkdf2_sha256 hash' }
    const iterations = positive(parts[2]!, MAX_PBKDF2_ITERATIONS)
    if (iterations === null) return { ok: false, problem: `pbkdf2_sha256 rounds must be 1 to ${MAX_PBKDF2_ITERATIONS}` }
    const salt = ab64(parts[3]!)
    const digest = ab64(parts[4]!)
    if (!salt || salt.length === 0 || salt.length > 1024 || digest?.length !== 32)
      return { ok: false, problem: 'malformed passlib pbkdf2_sha256 hash' }
    return { ok: true, hash: { format: 'passlib-pbkdf2-sha256', iterations, salt, digest } }
  }
  if (stored.startsWith('$2')) {
    const match = BCRYPT.exec(stored)
    if (!match) return { ok: false, problem: 'malformed bcrypt hash' }
    const cost = Number(match[1])
    if (cost < 4 || cost > MAX_BCRYPT_COST) return { ok: false, problem: `bcrypt cost must be 4 to ${MAX_BCRYPT_COST}` }
    return { ok: true, hash: { format: 'bcrypt', stored } }
  }
  if (stored.startsWith('pbkdf2:') || stored.startsWith('scrypt:')) {
    const parts = stored.split('$') // [method, salt, hex]
    if (parts.length !== 3 || !WERKZEUG_SALT.test(parts[1]!) || !HEX.test(parts[2]!))
      return { ok: false, problem: 'malformed Werkzeug hash' }
    const salt = Buffer.from(parts[1]!, 'utf8')
    const digest = Buffer.from(parts[2]!, 'hex')
    const method = parts[0]!.split(':')
    if (method[0] === 'pbkdf2') {
      if (method.length !== 3 || method[1] !== 'sha256')
        return { ok: false, problem: 'Werkzeug pbkdf2 hashes must be pbkdf2:sha256:<iterations>' }
      const iterations = positive(method[2]!, MAX_PBKDF2_ITERATIONS)
      if (iterations === null) return { ok: false, problem: `pbkdf2 iterations must be 1 to ${MAX_PBKDF2_ITERATIONS}` }
      if (digest.length !== 32) return { ok: false, problem: 'malformed Werkzeug hash' }
      return { ok: true, hash: { format: 'werkzeug-pbkdf2-sha256', iterations, salt, digest } }
    }
    if (method.length !== 4) return { ok: false, problem: 'Werkzeug scrypt hashes must be scrypt:<n>:<r>:<p>' }
    const [n, r, p] = [positive(method[1]!, 2 ** 24), positive(method[2]!, 64), positive(method[3]!, MAX_SCRYPT_P)]
    // n must be a power of two above 1; 128·n·r bytes is what scrypt allocates.
    if (n === null || r === null || p === null || n < 2 || (n & (n - 1)) !== 0 || 128 * n * r > MAX_SCRYPT_MEMORY)
      return {
        ok: false,
        problem: `scrypt parameters out of bounds (n a power of two, 128·n·r at most ${MAX_SCRYPT_MEMORY} bytes, p at most ${MAX_SCRYPT_P})`,
      }
    if (digest.length !== 64) return { ok: false, problem: 'malformed Werkzeug hash' }
    return { ok: true, hash: { format: 'werkzeug-scrypt', n, r, p, salt, digest } }
  }
  return { ok: false, problem: 'unknown hash format' }
}

/**
 * `true` when `stored` is a hash of a legacy format this module can check (bounds included).
 *
 * @example
 * isLegacyHash('$2b$12$…') // true
 */
export function isLegacyHash(stored: string): boolean {
  return parseLegacyHash(stored).ok
}

/**
 * Checks `password` against a legacy hash; `false` for a wrong password or a hash it refuses.
 *
 * @example
 * await verifyLegacyHash('pbkdf2:sha256:600000$salt$…', 'correct horse battery') // true or false
 */
export async function verifyLegacyHash(stored: string, password: string): Promise<boolean> {
  const parsed = parseLegacyHash(stored)
  if (!parsed.ok) return false
  const hash = parsed.hash
  const secret = Buffer.from(password, 'utf8')
  if (hash.format === 'bcrypt') return bcryptVerify(secret, hash.stored)
  const computed =
    hash.format === 'werkzeug-scrypt'
      ? await scryptAsync(secret, hash.salt, hash.digest.length, {
          N: hash.n,
          r: hash.r,
          p: hash.p,
          maxmem: 128 * hash.n * hash.r * hash.p + 2 * 1024 * 1024,
        })
      : await pbkdf2Async(secret, hash.salt, hash.iterations, hash.digest.length, 'sha256')
  return timingSafeEqual(computed, hash.digest)
}
