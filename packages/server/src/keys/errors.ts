/** The keyring's one error type: a literal `code` to branch on, a message that says what to do. */

export type KeyringErrorCode =
  /** `retire` was given a kid no key has. */
  | 'KEY_NOT_FOUND'
  /** `retire` was given a key that is already retired. */
  | 'KEY_RETIRED'
  /** KEYS_SECRET does not decrypt a private key (another secret, or a tampered row). */
  | 'KEYS_SECRET_MISMATCH'
  /** `entries()` on a ring without a current key: `advance()` has not run yet. */
  | 'NO_CURRENT_KEY'
  /** A row the keyring cannot read (an unknown algorithm or state, a public key that is not JSON, a sealed key of another format). */
  | 'KEYRING_CORRUPT'
  /** KeyringOptions out of range (a short secret, a rotation interval not longer than the publish lead…). */
  | 'KEYRING_OPTIONS'

/**
 * Thrown by the Keyring and by open() in crypto.ts. Messages name the key's kid (public) but never a
 * secret or any private material.
 *
 * @example
 * try { await keyring.retire(kid) } catch (err) { if (err instanceof KeyringError && err.code === 'KEY_NOT_FOUND') … }
 */
export class KeyringError extends Error {
  readonly code: KeyringErrorCode
  constructor(code: KeyringErrorCode, message: string) {
    super(message)
    this.name = 'KeyringError'
    this.code = code
  }
}
