/**
 * How the server signs, decided once at start from the config: HMAC mode (JWT_SECRET or the generated
 * `jwt-secret` file: HS256 exactly as before keyrings existed) or keyring mode (an asymmetric keyring in
 * the database, keys/keyring.ts, kept current on this instance by keys/key-sync.ts). services.ts
 * builds the keycard from `keycardKeyOptions`, and app.ts logs `describeSigning`.
 */

import type { FastifyBaseLogger } from 'fastify'
import type { KeyEntry, KeycardOptions } from 'keycard'
import type { Kysely } from 'kysely'
import { AuditLog } from '../audit/log.ts'
import { type Config, describeSigning } from '../config.ts'
import type { Database } from '../db/schema.ts'
import { HttpError } from '../http-errors.ts'
import { type KeySyncEvent, readKeyTable } from './key-sync.ts'
import { Keyring } from './keyring.ts'

/** The secret each mode starts from (app.ts resolves it: environment, data-dir file, or generated). */
export type SigningSecret = { mode: 'hmac'; secret: string } | { mode: 'keyring'; keysSecret: string }

/** What the keycard is created with, and in keyring mode the ring it follows. */
export type SigningKeys =
  | { mode: 'hmac'; secret: string }
  | { mode: 'keyring'; keyring: Keyring; keys: KeyEntry[]; signingKid: string; table: string; issuer: string }

/**
 * The keyring for `config` on `db`: its publish lead is two JWKS cache lifetimes (a verifier that
 * cached the set just before a next key appeared has refetched it by then), and a previous key
 * verifies for the longest token lifetime past its deactivation.
 *
 * @example
 * const keyring = keyringFor(config, db, keysSecret)
 * await keyring.advance()
 */
export function keyringFor(config: Config, db: Kysely<Database>, keysSecret: string): Keyring {
  if (config.signing.mode !== 'keyring') throw new Error('keyringFor: the server is in HMAC mode (JWT_SECRET); there is no keyring')
  return new Keyring({
    db,
    keysSecret,
    algorithm: config.signing.algorithm,
    rotationInterval: config.keyRotationInterval,
    publishLead: config.keyPublishLead,
    tokenLifetime: Math.max(config.accessTokenExpires, config.refreshTokenExpires),
    // The scheduler's rotations and retirements go to the audit trail, in their own transactions.
    audit: new AuditLog(db),
  })
}

/**
 * Loads what the keycard signs and verifies with. Keyring mode: brings the ring up to date first
 * (an empty ring gets its first key), then reads the table's state (what later polls compare
 * against) before the keys themselves, so a change between the two reads is seen by the next poll.
 *
 * @example
 * const signing = await loadSigningKeys(config, db, { mode: 'keyring', keysSecret })
 * const keycard = await createKeycard({ ...keycardKeyOptions(signing), accessTokenExpires: 900 })
 */
export async function loadSigningKeys(config: Config, db: Kysely<Database>, secret: SigningSecret): Promise<SigningKeys> {
  if (secret.mode === 'hmac') return secret
  const keyring = keyringFor(config, db, secret.keysSecret)
  await keyring.advance()
  const { fingerprint: table } = await readKeyTable(db)
  const { keys, signingKid } = await keyring.entries()
  return { mode: 'keyring', keyring, keys, signingKid, table, issuer: config.issuer }
}

/**
 * The key options of `createKeycard` for each mode: the secret (HS256, no `kid`, no `iss`: tokens
 * exactly as before), or the ring's keys with the current key signing and ISSUER as `iss`.
 *
 * @example
 * createKeycard({ ...keycardKeyOptions(signing), tokenLocation: ['headers'] })
 */
export function keycardKeyOptions(signing: SigningKeys): Pick<KeycardOptions, 'secret' | 'keys' | 'signingKid' | 'encodeIssuer'> {
  if (signing.mode === 'hmac') return { secret: signing.secret }
  return { keys: signing.keys, signingKid: signing.signingKid, encodeIssuer: signing.issuer }
}

/**
 * The start-up line saying which mode is active and why (config.ts `describeSigning`), with the
 * current kid and the issuer in keyring mode. Never any key material or secret.
 *
 * @example
 * app.log.info(...signingLogLine(config, signing))
 */
export function signingLogLine(config: Config, signing: SigningKeys): [Record<string, unknown>, string] {
  const { mode, algorithm, source } = config.signing
  if (signing.mode === 'hmac') return [{ signing: { mode, algorithm, source } }, describeSigning(config)]
  return [
    { signing: { mode, algorithm, source, kid: signing.signingKid, issuer: signing.issuer } },
    `${describeSigning(config)}; current kid ${signing.signingKid}, issuer ${signing.issuer}`,
  ]
}

/**
 * Logs what KeySync reports: reloads at info, retirements at warn, failures at error (then at debug
 * while they go on), and the recovery.
 *
 * @example
 * new KeySync({ keyring, keycard, initial, onEvent: keyEventLogger(app.log) })
 */
export function keyEventLogger(log: FastifyBaseLogger): (event: KeySyncEvent) => void {
  const failing = new Set<string>()
  return (e) => {
    if (e.type === 'keys-loaded') {
      if (failing.delete('reload')) log.info('reading the signing keys works again')
      log.info({ kid: e.signingKid, kids: e.kids }, `signing keys reloaded: signing with kid ${e.signingKid}`)
    } else if (e.type === 'key-removed')
      log.warn({ kid: e.kid, via: e.via }, `signing key ${e.kid} retired: tokens signed with it are refused from now on`)
    else if (e.type === 'keys-advanced') {
      failing.delete('advance')
      log.info('the keyring advanced on schedule (a key published, promoted or retired)')
    } else if (e.type === 'keys-failed') {
      log[failing.has(e.step) ? 'debug' : 'error'](
        { err: e.err, step: e.step, retryInMs: e.retryInMs },
        `keyring ${e.step} failed (retrying in ${Math.round(e.retryInMs / 1000)}s)`,
      )
      failing.add(e.step)
    }
  }
}

/**
 * Minting in the moment between the retirement of the signing key and the arrival of its successor:
 * 503 `SIGNING_KEY_UNAVAILABLE`, with `Retry-After` (app.ts adds it).
 *
 * @example
 * if (!keySync.canSign) throw new SigningKeyUnavailableError()
 */
export class SigningKeyUnavailableError extends HttpError {
  /** Seconds, for Retry-After. */
  readonly retryAfter = 1
  constructor() {
    super(503, 'The signing key was just retired and its successor is being loaded; retry in a moment', 'SIGNING_KEY_UNAVAILABLE')
    this.name = 'SigningKeyUnavailableError'
  }
}
