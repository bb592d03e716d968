/** The environment of keyring-mode test servers and CLI runs (well-known, keys-propagation tests). */

/** At least 32 bytes, as config.ts demands; never printed by the server (the tests check). */
export const KEYS_SECRET = 'keys-secret-for-tests-at-least-32-bytes!!'
export const ISSUER = 'https://auth.example.test'

/**
 * No JWT_SECRET, the algorithm, a KEYS_SECRET and an ISSUER, and `more`; `undefined` removes a variable.
 *
 * @example
 * const s = await startServer(t, keyringEnv('EdDSA', { JWKS_MAX_AGE: '1' }), { dialect })
 */
export function keyringEnv(algorithm = 'ES256', more: Record<string, string | undefined> = {}): Record<string, string | undefined> {
  return { JWT_SECRET: undefined, JWT_ALGORITHM: algorithm, KEYS_SECRET, ISSUER, ...more }
}
