/**
 * Keys mode: several keys, each with a `kid` and a pinned algorithm. Entries are checked (sync, at
 * option time) and imported (async, once), then held in a `StaticKeySet` that verification reads by
 * the token's `kid`. A token can never choose the key's algorithm: the entry pins it.
 */

import { createHash, createPublicKey, type KeyObject } from 'node:crypto'
import type { JWK } from 'jose'
import { JWTDecodeError, KeycardOptionError } from './errors.ts'
import {
  asymmetricVerifier,
  hmacVerifier,
  importSignKey,
  importVerifyKey,
  isAlgorithm,
  isHmac,
  secretBytes,
  type Algorithm,
  type KeyInput,
  type SignatureVerifier,
  type SigningKey,
} from './keys.ts'

/**
 * One key of a keyring: its id, its pinned algorithm, and its material.
 *
 * @example
 * const entry: KeyEntry = { kid: '2026-01', algorithm: 'ES256', privateKey: process.env.JWT_PRIVATE_KEY }
 */
export interface KeyEntry {
  /** Non-empty; unique within `keys`. New tokens carry it in their header. */
  kid: string
  /** Pinned: a token naming another `alg` with this kid is refused. */
  algorithm: Algorithm
  /** Signs (its public half verifies): asymmetric algorithms. PEM, JWK, CryptoKey or KeyObject. */
  privateKey?: KeyInput
  /** Verifies only: asymmetric algorithms. */
  publicKey?: KeyInput
  /** HS* shared secret (never published by `jwks()`). */
  secret?: string | Uint8Array
}

/**
 * A key verification can use: picked by `kid`, checked against its pinned algorithm.
 *
 * @example
 * const key = keySet.current(header.kid)
 * if (key && header.alg === key.algorithm && key.verify(signingInput, signature)) accept()
 */
export interface VerificationKey {
  readonly kid: string
  readonly algorithm: Algorithm
  readonly verify: SignatureVerifier
  /** The public JWK (kty, public members, kid, alg, use: 'sig'); undefined for HMAC keys. */
  readonly jwk: JWK | undefined
  /** Identifies the material (the public JWK, or a hash of the secret): an unchanged key keeps its object across `setKeys`. */
  readonly material: string
}

/**
 * Where a keyed keycard finds the key of a token's `kid`: a static set (`keys`, a JWKS object) or a
 * remote one (`jwks` URL). `current` is the hot path and never waits.
 *
 * @example
 * const key = source.current(kid) ?? (await source.resolve(kid))
 */
export interface KeySource {
  /** The key for `kid` when usable right now, without waiting; undefined otherwise. Never throws. */
  current(kid: string): VerificationKey | undefined
  /** The key for `kid` after whatever it takes (a refetch); throws or rejects with KID_UNKNOWN or JWKS_UNAVAILABLE. */
  resolve(kid: string): VerificationKey | Promise<VerificationKey>
  /** Whether a key this source could still learn of might pin `alg`: asked on a kid miss, before `resolve`. */
  accepts(alg: string): boolean
  /** The public JWKs of the keys held now. */
  jwks(): { keys: JWK[] }
}

/**
 * The error for a kid no key has; it never echoes the kid (client text).
 *
 * @example
 * throw unknownKid() // 422 KEYCARD_JWT_KID_UNKNOWN
 */
export function unknownKid(): JWTDecodeError {
  return new JWTDecodeError('KEYCARD_JWT_KID_UNKNOWN', 'The token\'s "kid" does not match any known key')
}

/**
 * Keys mode's key source: a map by kid, replaced whole (`replace`) or shrunk (`remove`), both
 * synchronous, so a change applies from the next verification on.
 *
 * @example
 * const set = new StaticKeySet(imported.keys)
 * set.remove('2025-10') // tokens with that kid are refused from now on
 */
export class StaticKeySet implements KeySource {
  #keys: ReadonlyMap<string, VerificationKey>
  /** Tickets of replacements (`begin`), the last one committed, and how many are importing. */
  #issued = 0
  #committed = 0
  #pending = 0
  /** Kids removed while replacements were importing, with the last ticket issued then. */
  readonly #removedAt = new Map<string, number>()

  constructor(keys: ReadonlyMap<string, VerificationKey>) {
    this.#keys = keys
  }

  current(kid: string): VerificationKey | undefined {
    return this.#keys.get(kid)
  }

  resolve(kid: string): VerificationKey {
    const key = this.#keys.get(kid)
    if (key === undefined) throw unknownKid()
    return key
  }

  accepts(): boolean {
    // A static set learns no keys: an unknown kid is KID_UNKNOWN whatever its alg.
    return true
  }

  jwks(): { keys: JWK[] } {
    return { keys: [...this.#keys.values()].flatMap((key) => (key.jwk ? [{ ...key.jwk }] : [])) }
  }

  /** The kids held now. */
  kids(): string[] {
    return [...this.#keys.keys()]
  }

  /** The keys held now, by kid (what `importKeyEntries` reuses unchanged keys from). */
  get keys(): ReadonlyMap<string, VerificationKey> {
    return this.#keys
  }

  /** Starts a replacement (the keys are imported after this): its ticket for `commit`. */
  begin(): number {
    this.#pending++
    return ++this.#issued
  }

  /** A replacement that failed to import. */
  abort(): void {
    this.#settle()
  }

  #settle(): void {
    if (--this.#pending === 0) this.#removedAt.clear()
  }

  /**
   * Swaps in `keys` for the replacement `ticket`, without the kids removed since it began; returns
   * what was swapped in, or undefined when a later replacement was committed first (it wins).
   */
  commit(ticket: number, keys: ReadonlyMap<string, VerificationKey>): ReadonlyMap<string, VerificationKey> | undefined {
    try {
      if (ticket < this.#committed) return undefined
      const kept = new Map(keys)
      for (const [kid, at] of this.#removedAt) if (at >= ticket) kept.delete(kid)
      this.#keys = kept
      this.#committed = ticket
      return kept
    } finally {
      this.#settle()
    }
  }

  remove(kid: string): boolean {
    // A replacement importing now began before this removal: it must not bring the key back.
    if (this.#pending > 0) this.#removedAt.set(kid, this.#issued)
    if (!this.#keys.has(kid)) return false
    const next = new Map(this.#keys)
    next.delete(kid)
    this.#keys = next
    return true
  }
}

const ENTRY_FIELDS = new Set(['kid', 'algorithm', 'privateKey', 'publicKey', 'secret'])

function canSign(entry: KeyEntry): boolean {
  return isHmac(entry.algorithm) ? entry.secret !== undefined : entry.privateKey !== undefined
}

/**
 * Checks a `keys` list and `signingKid` without importing anything; returns the kid that signs
 * (undefined: verify-only). `option` names the list in messages (`keys`, or `setKeys`).
 *
 * @example
 * checkKeyEntries([{ kid: 'a', algorithm: 'ES256', privateKey }], undefined, 'keys') // 'a'
 */
export function checkKeyEntries(entries: unknown, signingKid: unknown, option: string): string | undefined {
  if (!Array.isArray(entries))
    throw new KeycardOptionError(option, `expected an array of { kid, algorithm, privateKey | publicKey | secret }, got ${typeof entries}.`)
  const kids = new Set<string>()
  entries.forEach((entry: unknown, i) => {
    const name = `${option}[${i}]`
    if (entry === null || typeof entry !== 'object' || Array.isArray(entry))
      throw new KeycardOptionError(name, 'expected an object { kid, algorithm, privateKey | publicKey | secret }.')
    for (const field of Object.keys(entry)) {
      if (!ENTRY_FIELDS.has(field))
        throw new KeycardOptionError(`${name}.${field}`, 'is not a key entry field; use kid, algorithm, privateKey, publicKey or secret.')
    }
    const { kid, algorithm, privateKey, publicKey, secret } = entry as Partial<KeyEntry>
    if (typeof kid !== 'string' || kid.length === 0)
      throw new KeycardOptionError(`${name}.kid`, `expected a non-empty string, got ${JSON.stringify(kid)}.`)
    if (kids.has(kid))
      throw new KeycardOptionError(`${name}.kid`, `${JSON.stringify(kid)} is used by two entries; every kid must be unique.`)
    kids.add(kid)
    if (!isAlgorithm(algorithm))
      throw new KeycardOptionError(
        `${name}.algorithm`,
        `unknown algorithm ${JSON.stringify(algorithm)}; use one of HS256, HS384, HS512, RS256, RS384, RS512, PS256, PS384, PS512, ES256, ES384, ES512, EdDSA.`,
      )
    if (isHmac(algorithm)) {
      if (secret === undefined) throw new KeycardOptionError(`${name}.secret`, `${algorithm} needs a secret of at least 32 bytes.`)
      if (privateKey !== undefined || publicKey !== undefined)
        throw new KeycardOptionError(name, `${algorithm} is an HMAC algorithm: give it a "secret", not a privateKey/publicKey.`)
    } else {
      if (secret !== undefined)
        throw new KeycardOptionError(
          `${name}.secret`,
          `${algorithm} is asymmetric: give it a privateKey (to sign) or a publicKey (to verify).`,
        )
      if (privateKey === undefined && publicKey === undefined)
        throw new KeycardOptionError(name, `${algorithm} needs a privateKey (to sign) or a publicKey (to verify).`)
    }
  })
  const list = entries as KeyEntry[]
  if (signingKid !== undefined) {
    const signer = list.find((entry) => entry.kid === signingKid)
    if (signer === undefined)
      throw new KeycardOptionError(
        'signingKid',
        `no entry has kid ${JSON.stringify(signingKid)}; name one of ${[...kids].join(', ') || '(none)'}.`,
      )
    if (!canSign(signer))
      throw new KeycardOptionError(
        'signingKid',
        `the entry ${JSON.stringify(signingKid)} cannot sign: it needs a ${isHmac(signer.algorithm) ? 'secret' : 'privateKey'}.`,
      )
    return signer.kid
  }
  const signers = list.filter(canSign)
  if (signers.length > 1)
    throw new KeycardOptionError(
      'signingKid',
      `${signers.length} entries can sign (${signers.map((e) => e.kid).join(', ')}); name the one that signs new tokens in "signingKid".`,
    )
  return signers[0]?.kid
}

/**
 * The public JWK of an asymmetric key: kty and the public members only (exported from the public
 * half, so no private member can be there), with kid, alg and use.
 *
 * @example
 * publicJwk(keyObject, 'k1', 'ES256') // { kty: 'EC', crv: 'P-256', x, y, kid: 'k1', alg: 'ES256', use: 'sig' }
 */
export function publicJwk(key: KeyObject, kid: string, alg: Algorithm): JWK {
  const pub = key.type === 'private' ? createPublicKey(key) : key
  const exported = pub.export({ format: 'jwk' }) as JWK
  const out: JWK = { kty: exported.kty }
  for (const member of PUBLIC_MEMBERS[exported.kty as string] ?? []) {
    const value = exported[member as keyof JWK]
    if (value !== undefined) (out as Record<string, unknown>)[member] = value
  }
  return { ...out, kid, alg, use: 'sig' }
}

/** RFC 7518 §6 / RFC 8037: the public members of each key type; anything else is dropped. */
const PUBLIC_MEMBERS: Record<string, readonly string[]> = { EC: ['crv', 'x', 'y'], OKP: ['crv', 'x'], RSA: ['n', 'e'] }

/**
 * What a checked key list imports to: the verification keys by kid, and the signer.
 *
 * @example
 * const { keys, signer } = await importKeyEntries(entries, checkKeyEntries(entries, undefined, 'keys'), 'keys')
 */
export interface ImportedKeys {
  keys: Map<string, VerificationKey>
  signer: { kid: string; algorithm: Algorithm; key: SigningKey } | undefined
}

/**
 * Imports checked entries (through jose and node:crypto, as single-key options are).
 *
 * @example
 * const imported = await importKeyEntries(entries, 'k2', 'keys')
 * imported.signer?.kid // 'k2'
 */
export async function importKeyEntries(
  entries: readonly KeyEntry[],
  signingKid: string | undefined,
  option: string,
  previous?: ReadonlyMap<string, VerificationKey>,
): Promise<ImportedKeys> {
  const keys = new Map<string, VerificationKey>()
  let signer: ImportedKeys['signer']
  // The same kid, algorithm and material keeps its old object, and so its cached verifications.
  const keep = (key: VerificationKey): VerificationKey => {
    const old = previous?.get(key.kid)
    return old !== undefined && old.algorithm === key.algorithm && old.material === key.material ? old : key
  }
  for (const [i, entry] of entries.entries()) {
    const name = `${option}[${i}]`
    const { kid, algorithm } = entry
    if (isHmac(algorithm)) {
      const secret = secretBytes(`${name}.secret`, entry.secret, algorithm)
      const material = `hmac:${createHash('sha256').update(secret).digest('base64url')}`
      keys.set(kid, keep(Object.freeze({ kid, algorithm, verify: hmacVerifier(algorithm, secret), jwk: undefined, material })))
      if (kid === signingKid) signer = { kid, algorithm, key: secret }
      continue
    }
    const privateKey = entry.privateKey !== undefined ? await importSignKey(`${name}.privateKey`, entry.privateKey, algorithm) : undefined
    let publicKey = entry.publicKey !== undefined ? await importVerifyKey(`${name}.publicKey`, entry.publicKey, algorithm) : undefined
    if (privateKey && publicKey && !sameKey(createPublicKey(privateKey), publicKey))
      throw new KeycardOptionError(`${name}.publicKey`, 'is not the public half of privateKey; pass the matching pair, or only privateKey.')
    publicKey ??= createPublicKey(privateKey!)
    keys.set(kid, keep(verificationKey(publicKey, kid, algorithm)))
    if (kid === signingKid) signer = { kid, algorithm, key: privateKey! }
  }
  return { keys, signer }
}

/**
 * A verification key for a public KeyObject that fits `alg` (checked by the caller).
 *
 * @example
 * const key = verificationKey(createPublicKey(pem), 'k1', 'ES256')
 */
export function verificationKey(publicKey: KeyObject, kid: string, algorithm: Algorithm): VerificationKey {
  const jwk = jwkIfExportable(publicKey, kid, algorithm)
  const material = jwk ? JSON.stringify(jwk) : `spki:${publicKey.export({ format: 'der', type: 'spki' }).toString('base64url')}`
  return Object.freeze({ kid, algorithm, verify: asymmetricVerifier(algorithm, publicKey), jwk, material })
}

/**
 * `publicJwk`, or undefined for a key node:crypto cannot write as a JWK (an RSA-PSS "id-RSASSA-PSS"
 * key): such a key verifies but is not published by `jwks()`.
 *
 * @example
 * const jwk = jwkIfExportable(key, 'k1', 'PS256') // undefined for an rsa-pss KeyObject
 */
export function jwkIfExportable(key: KeyObject, kid: string, alg: Algorithm): JWK | undefined {
  try {
    return publicJwk(key, kid, alg)
  } catch {
    return undefined
  }
}

function sameKey(a: KeyObject, b: KeyObject): boolean {
  return a.export({ format: 'der', type: 'spki' }).equals(b.export({ format: 'der', type: 'spki' }))
}
