/**
 * A JSON Web Key Set as verification keys, under the rules of jwks mode: a key without `kid`, with a
 * `use` other than `sig`, of kty `oct` (never HMAC from a key set: its "public" key would be the
 * secret), or whose algorithm cannot be pinned (no `alg`, and none derivable from the curve: RSA needs
 * an explicit `alg`) is skipped, as is any key that does not import. Only public members are read,
 * so a set that wrongly carries private keys never turns into private key objects here.
 */

import { KeyObject } from 'node:crypto'
import { importJWK, type JWK } from 'jose'
import { verificationKey, type VerificationKey } from '../keyring.ts'
import { isAlgorithm, isHmac, type Algorithm } from '../keys.ts'

const CURVE_ALG: Record<string, Algorithm> = { 'P-256': 'ES256', 'P-384': 'ES384', 'P-521': 'ES512', Ed25519: 'EdDSA', Ed448: 'EdDSA' }
const PUBLIC_MEMBERS: Record<string, readonly string[]> = { EC: ['crv', 'x', 'y'], OKP: ['crv', 'x'], RSA: ['n', 'e'] }
/** The kty each algorithm family needs; anything else in the set is a mismatch and skipped. */
const KTY_OF = (alg: Algorithm): string => (alg.startsWith('ES') ? 'EC' : alg === 'EdDSA' ? 'OKP' : 'RSA')

/** The algorithm a JWK is pinned to, or undefined when it cannot be (the key is then skipped). */
function pinnedAlgorithm(jwk: Record<string, unknown>): Algorithm | undefined {
  const alg = jwk.alg
  if (alg !== undefined) {
    if (!isAlgorithm(alg) || isHmac(alg) || KTY_OF(alg) !== jwk.kty) return undefined
    // An EC key's curve fixes its algorithm (ES256 is P-256 only); an OKP key must be an EdDSA curve.
    if (jwk.kty !== 'RSA' && CURVE_ALG[jwk.crv as string] !== alg) return undefined
    return alg
  }
  if (jwk.kty === 'EC' || jwk.kty === 'OKP') {
    const derived = typeof jwk.crv === 'string' ? CURVE_ALG[jwk.crv] : undefined
    return derived !== undefined && KTY_OF(derived) === jwk.kty ? derived : undefined
  }
  return undefined
}

/**
 * The usable keys of a set, by kid (the first of a repeated kid wins); `keys` not an array → undefined.
 * A key of `previous` with the same kid, algorithm and material is kept as it was, so the tokens it
 * verified stay in the cache across a refetch.
 *
 * @example
 * const keys = await importKeySet(await (await fetch(url)).json())
 */
export async function importKeySet(
  set: unknown,
  previous?: ReadonlyMap<string, VerificationKey>,
): Promise<Map<string, VerificationKey> | undefined> {
  const list = set !== null && typeof set === 'object' ? (set as { keys?: unknown }).keys : undefined
  if (!Array.isArray(list)) return undefined
  const keys = new Map<string, VerificationKey>()
  for (const item of list) {
    if (item === null || typeof item !== 'object' || Array.isArray(item)) continue
    const jwk = item as Record<string, unknown>
    const kid = jwk.kid
    if (typeof kid !== 'string' || kid.length === 0 || keys.has(kid)) continue
    if (jwk.use !== undefined && jwk.use !== 'sig') continue
    if (jwk.kty === 'oct') continue
    const alg = pinnedAlgorithm(jwk)
    if (alg === undefined) continue
    const key = await publicKeyOf(jwk, alg)
    if (key === undefined) continue
    const old = previous?.get(kid)
    keys.set(kid, old !== undefined && old.algorithm === key.algorithm && old.material === key.material ? old : key)
  }
  return keys
}

async function publicKeyOf(jwk: Record<string, unknown>, alg: Algorithm): Promise<VerificationKey | undefined> {
  const pub: Record<string, unknown> = { kty: jwk.kty }
  for (const member of PUBLIC_MEMBERS[jwk.kty as string] ?? []) pub[member] = jwk[member]
  try {
    const imported = await importJWK(pub as JWK, alg, { extractable: true })
    if (imported instanceof Uint8Array) return undefined
    const key = KeyObject.from(imported)
    if (key.type !== 'public') return undefined
    // RFC 7518 §3.3 and keycard's own rule for RSA keys.
    if (key.asymmetricKeyType?.startsWith('rsa') && (key.asymmetricKeyDetails?.modulusLength ?? 0) < 2048) return undefined
    return verificationKey(key, jwk.kid as string, alg)
  } catch {
    return undefined
  }
}
