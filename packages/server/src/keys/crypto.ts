/**
 * Private keys at rest: AES-256-GCM (node:crypto) under a key derived from KEYS_SECRET with HKDF-SHA256,
 * a random 96-bit IV per seal, and the key's kid as additional authenticated data, so a sealed key
 * copied onto another row (another kid) fails to open as surely as one opened with another secret.
 *
 * Sealed form: `v1.<iv>.<ciphertext>.<tag>`, each part base64url.
 */

import { createCipheriv, createDecipheriv, hkdfSync, randomBytes } from 'node:crypto'
import { KeyringError } from './errors.ts'

const VERSION = 'v1'
// HKDF's salt and info bind the derived key to this one use of KEYS_SECRET.
const SALT = Buffer.from('keycard keyring')
const INFO = Buffer.from('keycard signing keys v1: aes-256-gcm')

/**
 * The 256-bit AES key for `secret`.
 *
 * @example
 * const key = deriveKey(process.env.KEYS_SECRET!) // 32 bytes
 */
export function deriveKey(secret: string): Buffer {
  return Buffer.from(hkdfSync('sha256', Buffer.from(secret, 'utf8'), SALT, INFO, 32))
}

/**
 * Encrypts `plaintext` for the key `kid`.
 *
 * @example
 * const sealed = seal(deriveKey(secret), kid, pkcs8Pem) // 'v1.…'
 */
export function seal(key: Buffer, kid: string, plaintext: string): string {
  const iv = randomBytes(12)
  const cipher = createCipheriv('aes-256-gcm', key, iv)
  cipher.setAAD(Buffer.from(kid, 'utf8'))
  const ciphertext = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()])
  return [VERSION, iv, ciphertext, cipher.getAuthTag()].map((p) => (typeof p === 'string' ? p : p.toString('base64url'))).join('.')
}

/**
 * Decrypts what `seal` made for `kid`. Throws KeyringError `KEYS_SECRET_MISMATCH` when the secret (or
 * the kid) is not the one it was sealed with, `KEYRING_CORRUPT` when it is not a sealed key at all.
 *
 * @example
 * const pem = open(deriveKey(secret), kid, row.private_key)
 */
export function open(key: Buffer, kid: string, sealed: string): string {
  const parts = sealed.split('.')
  const [iv, ciphertext, tag] = parts.slice(1).map((p) => Buffer.from(p, 'base64url'))
  if (parts.length !== 4 || parts[0] !== VERSION || iv?.length !== 12 || tag?.length !== 16 || ciphertext === undefined)
    throw new KeyringError(
      'KEYRING_CORRUPT',
      `the private key of signing key ${kid} is not in the keyring's sealed format (v1.<iv>.<data>.<tag>)`,
    )
  try {
    const decipher = createDecipheriv('aes-256-gcm', key, iv)
    decipher.setAAD(Buffer.from(kid, 'utf8'))
    decipher.setAuthTag(tag)
    return Buffer.concat([decipher.update(ciphertext), decipher.final()]).toString('utf8')
  } catch {
    throw new KeyringError(
      'KEYS_SECRET_MISMATCH',
      `KEYS_SECRET does not decrypt the keyring: the private key of signing key ${kid} was encrypted with another secret. ` +
        'Set KEYS_SECRET to the secret the keyring was created with (the value the other instances use, or the keys-secret file of the data directory it was generated in); ' +
        'if that secret is lost, `keycard keys retire <kid>` each key: a new current key is made, and every token signed so far is refused',
    )
  }
}
