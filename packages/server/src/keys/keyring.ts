/**
 * The server's signing keyring (keyring mode): key pairs in `signing_keys` (migration 0005), their
 * private halves sealed with KEYS_SECRET (crypto.ts), moving next → current → previous → retired as
 * plan.ts decides. Every change runs in one write transaction that holds the ring's lock (SQLite:
 * BEGIN IMMEDIATE; PostgreSQL: a transaction-scoped advisory lock), so instances calling at once
 * serialize and each transition happens once; the schema's partial unique indexes (one current, one
 * next) are the backstop against any other writer.
 */

import { createPrivateKey, type KeyObject } from 'node:crypto'
import { type Kysely, sql } from 'kysely'
import type { JWK } from 'jose'
import type { AuditLog } from '../audit/log.ts'
import type { SigningAlgorithm } from '../config.ts'
import { dialectOf, writeTransaction } from '../db/database.ts'
import type { Database } from '../db/schema.ts'
import { deriveKey, open, seal } from './crypto.ts'
import { KeyringError } from './errors.ts'
import { type GeneratedKey, generateSigningKey, isSigningAlgorithm } from './generate.ts'
import { dueAt, keysToMake, plan, type RotationPolicy, type Step } from './plan.ts'
import { type KeyInfo, toKeyInfo } from './rows.ts'

export { KeyringError, type KeyringErrorCode } from './errors.ts'
export type { KeyInfo, KeyState, SigningAlgorithm } from './rows.ts'
export { KEYS_CHANNEL, parseKeyNotification } from './notifications.ts'

export interface KeyringOptions {
  db: Kysely<Database>
  /** KEYS_SECRET (at least 32 bytes): loadKeysSecret(config).secret. */
  keysSecret: string
  /** JWT_ALGORITHM: the algorithm of the keys the ring makes from now on. */
  algorithm: SigningAlgorithm
  /** Seconds a key signs before the next replaces it (KEY_ROTATION_INTERVAL). */
  rotationInterval: number
  /** Seconds a next key is published before it signs: 2 × JWKS_MAX_AGE (config.keyPublishLead). */
  publishLead: number
  /** Seconds the longest-lived token lives: max(ACCESS_TOKEN_EXPIRES, REFRESH_TOKEN_EXPIRES). */
  tokenLifetime: number
  /** Where each key made current (key.rotated) and each retirement (key.retired) is recorded, in the change's own transaction. */
  audit?: AuditLog
  /** Who drives this ring, for the events' `via`: the server's scheduler (default) or `keycard keys`. */
  via?: 'schedule' | 'cli'
}

/** One key for keycard's `setKeys`: the lib's KeyEntry shape. Only the current key carries its private half. */
export interface KeyringEntry {
  kid: string
  algorithm: SigningAlgorithm
  publicKey: JWK
  privateKey?: KeyObject
}

/** Serializes the ring's writers across PostgreSQL connections (advisory locks are per database). */
const LOCK = sql`select pg_advisory_xact_lock(hashtext('keycard signing_keys'))`

const nowSeconds = () => Math.floor(Date.now() / 1000)

function checkNow(now: number): number {
  if (!Number.isSafeInteger(now) || now < 0) throw new KeyringError('KEYRING_OPTIONS', `now: expected whole epoch seconds, got ${now}`)
  return now
}

/**
 * Every key of the ring in `db`, retired ones included, newest first: what `Keyring.list()` returns,
 * for readers that hold no KEYS_SECRET (`keycard keys list`).
 *
 * @example
 * const current = (await listKeys(db)).find((k) => k.state === 'current')
 */
export async function listKeys(db: Kysely<Database>): Promise<KeyInfo[]> {
  const rows = await db.selectFrom('signing_keys').selectAll().orderBy('created_at', 'desc').orderBy('kid').execute()
  return rows.map(toKeyInfo)
}

/**
 * @example
 * const keyring = new Keyring({ db, keysSecret: loadKeysSecret(config).secret, algorithm: 'ES256',
 *   rotationInterval: config.keyRotationInterval, publishLead: config.keyPublishLead,
 *   tokenLifetime: Math.max(config.accessTokenExpires, config.refreshTokenExpires) })
 * await keyring.advance()
 * const { keys, signingKid } = await keyring.entries()
 */
export class Keyring {
  readonly #db: Kysely<Database>
  readonly #key: Buffer
  readonly #policy: RotationPolicy
  readonly #audit: AuditLog | undefined
  readonly #via: 'schedule' | 'cli'

  constructor(options: KeyringOptions) {
    const problems: string[] = []
    if (typeof options.keysSecret !== 'string' || Buffer.byteLength(options.keysSecret) < 32)
      problems.push('keysSecret must be at least 32 bytes')
    if (!isSigningAlgorithm(options.algorithm))
      problems.push(`algorithm must be ES256, EdDSA, RS256 or PS256, got ${JSON.stringify(options.algorithm)}`)
    for (const name of ['rotationInterval', 'publishLead', 'tokenLifetime'] as const)
      if (!Number.isSafeInteger(options[name]) || options[name] < 0) problems.push(`${name} must be whole seconds, got ${options[name]}`)
    if (problems.length === 0 && options.rotationInterval <= options.publishLead)
      problems.push(`rotationInterval (${options.rotationInterval}s) must be longer than publishLead (${options.publishLead}s)`)
    if (problems.length > 0) throw new KeyringError('KEYRING_OPTIONS', `Keyring: ${problems.join('; ')}`)
    this.#db = options.db
    this.#key = deriveKey(options.keysSecret)
    const { algorithm, rotationInterval, publishLead, tokenLifetime } = options
    this.#policy = { algorithm, rotationInterval, publishLead, tokenLifetime }
    this.#audit = options.audit
    this.#via = options.via ?? 'schedule'
  }

  /** Every key, retired ones included, newest first. */
  async list(): Promise<KeyInfo[]> {
    return listKeys(this.#db)
  }

  /**
   * Brings the ring up to date at `now` (plan.ts): a first key on an empty ring, a next key published
   * one publish lead before the current one is due (or at once when JWT_ALGORITHM changed), a due next
   * key promoted, expired previous keys retired. Returns whether it changed anything.
   */
  async advance(now: number = nowSeconds()): Promise<boolean> {
    checkNow(now)
    const spare = await this.#pregenerate(keysToMake(plan(await this.#live(this.#db), now, this.#policy).steps))
    return this.#locked(async (trx) => {
      const { steps } = plan(await this.#live(trx), now, this.#policy)
      await this.#apply(trx, steps, now, spare)
      return steps.length > 0
    })
  }

  /**
   * `keycard keys rotate`: brings the ring up to date, then makes sure a next key exists and is due as
   * soon as verifiers can know it: activate_at = max(created_at + publishLead, now). Returns that key;
   * `advance(now)` promotes it once activate_at has come (at once for a next key published long enough ago).
   */
  async rotate(now: number = nowSeconds()): Promise<KeyInfo> {
    checkNow(now)
    const before = plan(await this.#live(this.#db), now, this.#policy)
    const spare = await this.#pregenerate(keysToMake(before.steps) + (before.next ? 0 : 1))
    return this.#locked(async (trx) => {
      const { steps, next } = plan(await this.#live(trx), now, this.#policy)
      await this.#apply(trx, steps, now, spare)
      const kid = next
        ? (next.kid ?? (await this.#nextKid(trx)))
        : await this.#insert(trx, await this.#mint(spare), 'next', now, now + this.#policy.publishLead)
      const row = await trx.selectFrom('signing_keys').selectAll().where('kid', '=', kid).executeTakeFirstOrThrow()
      const activateAt = Math.max(Number(row.created_at) + this.#policy.publishLead, now)
      if (row.activate_at === null || Number(row.activate_at) > activateAt)
        await trx.updateTable('signing_keys').set({ activate_at: activateAt }).where('kid', '=', kid).where('state', '=', 'next').execute()
      return toKeyInfo(await trx.selectFrom('signing_keys').selectAll().where('kid', '=', kid).executeTakeFirstOrThrow())
    })
  }

  /**
   * `keycard keys retire <kid>`, the emergency path: the key is retired at once whatever its state (its
   * tokens are refused, its private key erased). Retiring the current key promotes the next one at once,
   * or makes a new current key when there is none. Throws KeyringError KEY_NOT_FOUND or KEY_RETIRED.
   */
  async retire(kid: string, now: number = nowSeconds()): Promise<{ retired: KeyInfo; current: KeyInfo }> {
    checkNow(now)
    const live = await this.#live(this.#db)
    const needsKey = live.some((k) => k.kid === kid && k.state === 'current') && !live.some((k) => k.state === 'next')
    const spare = await this.#pregenerate(needsKey ? 1 : 0)
    return this.#locked(async (trx) => {
      const row = await trx.selectFrom('signing_keys').selectAll().where('kid', '=', kid).executeTakeFirst()
      // The kid comes from the command line: echoed only once found in the ring, never as a raw string otherwise.
      if (!row) throw new KeyringError('KEY_NOT_FOUND', 'no signing key has that kid; `keycard keys list` shows them')
      if (row.state === 'retired') throw new KeyringError('KEY_RETIRED', `signing key ${row.kid} is already retired`)
      await trx
        .updateTable('signing_keys')
        .set({ state: 'retired', private_key: null, retired_at: now, deactivated_at: row.state === 'current' ? now : row.deactivated_at })
        .where('kid', '=', kid)
        .execute()
      await this.#record(trx, 'key.retired', { kid: row.kid, state: row.state })
      let current = await trx.selectFrom('signing_keys').selectAll().where('state', '=', 'current').executeTakeFirst()
      if (!current) {
        const next = await trx.selectFrom('signing_keys').select('kid').where('state', '=', 'next').executeTakeFirst()
        // The events name the retired key as the one the new current key replaces.
        if (next) await this.#apply(trx, [{ kind: 'promote', kid: next.kid, demote: undefined }], now, spare, row.kid)
        else await this.#apply(trx, [{ kind: 'create-current' }], now, spare, row.kid)
        current = await trx.selectFrom('signing_keys').selectAll().where('state', '=', 'current').executeTakeFirstOrThrow()
      }
      const retired = await trx.selectFrom('signing_keys').selectAll().where('kid', '=', kid).executeTakeFirstOrThrow()
      return { retired: toKeyInfo(retired), current: toKeyInfo(current) }
    })
  }

  /**
   * What a keycard verifies and signs with now: the next, current and previous keys' public halves, and
   * the current key's private half (decrypted: the others' are never opened). Throws KeyringError
   * NO_CURRENT_KEY before the first advance(), KEYS_SECRET_MISMATCH when KEYS_SECRET is not the ring's.
   */
  async entries(): Promise<{ keys: KeyringEntry[]; signingKid: string }> {
    const rows = await this.#db
      .selectFrom('signing_keys')
      .selectAll()
      .where('state', 'in', ['next', 'current', 'previous'])
      .orderBy('created_at', 'desc')
      .orderBy('kid')
      .execute()
    const current = rows.find((r) => r.state === 'current')
    if (!current)
      throw new KeyringError('NO_CURRENT_KEY', 'the keyring has no current key yet: advance() makes one (the server does when it starts)')
    if (current.private_key === null)
      throw new KeyringError('KEYRING_CORRUPT', `signing key ${current.kid} in the database: current, but without a private key`)
    const privateKey = createPrivateKey(open(this.#key, current.kid, current.private_key))
    const keys = rows.map((row): KeyringEntry => {
      const info = toKeyInfo(row)
      return { kid: info.kid, algorithm: info.algorithm, publicKey: info.publicJwk, ...(row === current ? { privateKey } : {}) }
    })
    return { keys, signingKid: current.kid }
  }

  /** Epoch seconds at which advance() next has work (a promotion, a publication, a retirement): now when it has some already. */
  async nextDue(now: number = nowSeconds()): Promise<number> {
    return dueAt(await this.#live(this.#db), checkNow(now), this.#policy)
  }

  async #live(db: Kysely<Database>): Promise<KeyInfo[]> {
    const rows = await db.selectFrom('signing_keys').selectAll().where('state', '!=', 'retired').execute()
    return rows.map(toKeyInfo)
  }

  async #locked<T>(fn: (trx: Kysely<Database>) => Promise<T>): Promise<T> {
    return writeTransaction(this.#db, async (trx) => {
      if (dialectOf(trx) === 'postgres') await LOCK.execute(trx)
      return fn(trx)
    })
  }

  /** Key pairs generated before the lock is taken, so the lock is never held across an RSA key generation. */
  async #pregenerate(count: number): Promise<GeneratedKey[]> {
    const keys: GeneratedKey[] = []
    for (let i = 0; i < count; i++) keys.push(await generateSigningKey(this.#policy.algorithm))
    return keys
  }

  /** A pre-generated key pair, or (the ring changed between the read and the lock) a new one. */
  async #mint(spare: GeneratedKey[]): Promise<GeneratedKey> {
    return spare.shift() ?? generateSigningKey(this.#policy.algorithm)
  }

  async #nextKid(trx: Kysely<Database>): Promise<string> {
    return (await trx.selectFrom('signing_keys').select('kid').where('state', '=', 'next').executeTakeFirstOrThrow()).kid
  }

  async #insert(trx: Kysely<Database>, key: GeneratedKey, state: 'next' | 'current', now: number, activateAt: number): Promise<string> {
    await trx
      .insertInto('signing_keys')
      .values({
        kid: key.kid,
        algorithm: key.algorithm,
        state,
        public_jwk: JSON.stringify(key.publicJwk),
        private_key: seal(this.#key, key.kid, key.privatePem),
        created_at: now,
        activate_at: activateAt,
        activated_at: state === 'current' ? now : null,
      })
      .execute()
    return key.kid
  }

  /** An audit event of this ring's changes, in the change's transaction (no-op without an AuditLog). */
  async #record(trx: Kysely<Database>, type: 'key.rotated' | 'key.retired', detail: Record<string, string | null>): Promise<void> {
    await this.#audit?.record({ type, detail: { ...detail, via: this.#via } }, trx)
  }

  /** key.rotated; `via` is `algorithm` when the scheduler replaced a key of another algorithm (JWT_ALGORITHM changed). */
  async #recordRotation(trx: Kysely<Database>, kid: string, previous: string | null): Promise<void> {
    if (!this.#audit) return
    const rows = await trx
      .selectFrom('signing_keys')
      .select(['kid', 'algorithm'])
      .where('kid', 'in', previous ? [kid, previous] : [kid])
      .execute()
    const algorithm = rows.find((r) => r.kid === kid)?.algorithm ?? null
    const changed = previous !== null && rows.find((r) => r.kid === previous)?.algorithm !== algorithm
    const via = changed && this.#via === 'schedule' ? 'algorithm' : this.#via
    await this.#audit.record({ type: 'key.rotated', detail: { kid, previous_kid: previous, algorithm, via } }, trx)
  }

  /** `replaced`: the key a promotion or a new current key takes over from, when it is not a demoted one (retire). */
  async #apply(trx: Kysely<Database>, steps: readonly Step[], now: number, spare: GeneratedKey[], replaced?: string): Promise<void> {
    const { publishLead, tokenLifetime } = this.#policy
    for (const step of steps) {
      if (step.kind === 'retire') {
        await trx
          .updateTable('signing_keys')
          .set({ state: 'retired', private_key: null, retired_at: now })
          .where('kid', '=', step.kid)
          .execute()
        await this.#record(trx, 'key.retired', { kid: step.kid })
      } else if (step.kind === 'promote') {
        // The old current key first: the unique index admits one current row at any moment.
        if (step.demote !== undefined)
          await trx
            .updateTable('signing_keys')
            .set({ state: 'previous', deactivated_at: now, verify_until: now + tokenLifetime + publishLead })
            .where('kid', '=', step.demote)
            .where('state', '=', 'current')
            .execute()
        await trx
          .updateTable('signing_keys')
          .set({ state: 'current', activated_at: now })
          .where('kid', '=', step.kid)
          .where('state', '=', 'next')
          .execute()
        await this.#recordRotation(trx, step.kid, step.demote ?? replaced ?? null)
      } else if (step.kind === 'create-current') {
        await this.#recordRotation(trx, await this.#insert(trx, await this.#mint(spare), 'current', now, now), replaced ?? null)
      } else {
        await this.#insert(trx, await this.#mint(spare), 'next', now, step.activateAt)
      }
    }
  }
}
