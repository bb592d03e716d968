/** Where revoked token ids are kept. Implementations may be sync or async. */
export interface RevocationStore {
  /**
   * Marks `jti` revoked until `expiresAt` (epoch seconds), after which the token would be refused as
   * expired anyway and the entry may be dropped. `null` means the token never expires.
   */
  revoke(jti: string, expiresAt: number | null): void | Promise<void>
  /** `true` when `jti` has been revoked. */
  isRevoked(jti: string): boolean | Promise<boolean>
}
