/**
 * The seeded data set, defined once so that the seeders (SQL, generated inside the database) and the
 * bench (which mints tokens for chosen sessions) agree on every row without reading them back.
 *
 * Users `1..users`: username `user0000042`, email `user0000042@example.test`, one argon2id hash for all
 * (the password is {@link SEED_PASSWORD}), user 1 an admin. Sessions `1..sessions`: session `j` belongs
 * to user `((j - 1) mod users) + 1`, its id is UUID-shaped (36 characters, as `randomUUID()` gives) and
 * sorts in `j` order, every session expires in 7–8 days, and `revoked` of them, spread evenly over `j`,
 * are revoked (so the revocation view holds `revoked` entries once loaded).
 */

/** The password of every seeded user. */
export const SEED_PASSWORD = 'correct horse battery staple 42'

export interface Layout {
  users: number
  sessions: number
  revoked: number
}

/** The figures: 1 000 000 users, 2 000 000 sessions, 500 000 of them revoked but unexpired. */
export const FULL_LAYOUT: Layout = Object.freeze({ users: 1_000_000, sessions: 2_000_000, revoked: 500_000 })

/**
 * Throws when the layout cannot be seeded as described (how to fix it in the message).
 *
 * @example
 * checkLayout({ users: 10, sessions: 20, revoked: 5 })
 */
export function checkLayout(layout: Layout): void {
  const { users, sessions, revoked } = layout
  for (const [name, v] of Object.entries(layout)) {
    if (!Number.isSafeInteger(v) || v < 0) throw new Error(`scale bench: --${name} must be a whole number ≥ 0, got ${v}`)
  }
  if (users < 1) throw new Error('scale bench: --users must be at least 1 (user 1 is the admin)')
  if (users > 9_999_999) throw new Error('scale bench: --users must be at most 9 999 999 (usernames have 7 digits)')
  if (revoked > sessions) throw new Error(`scale bench: --revoked (${revoked}) cannot exceed --sessions (${sessions})`)
  if (sessions - revoked < 2) throw new Error('scale bench: at least 2 sessions must stay live (the admin one and one to mint tokens for)')
}

/**
 * Session `j`'s id: `jjjjjjjj-0000-4000-8000-jjjjjjjjjjjj` in hex; the SQL seeders build the same string.
 *
 * @example
 * sessionId(1) // '00000001-0000-4000-8000-000000000001'
 */
export function sessionId(j: number): string {
  const hex = j.toString(16)
  return `${hex.padStart(8, '0')}-0000-4000-8000-${hex.padStart(12, '0')}`
}

/**
 * The user session `j` belongs to.
 *
 * @example
 * userOfSession(FULL_LAYOUT, 1_000_001) // 1
 */
export function userOfSession(layout: Layout, j: number): number {
  return ((j - 1) % layout.users) + 1
}

/**
 * Whether session `j` is revoked: `floor(j·r/s) > floor((j−1)·r/s)`, which holds for exactly `r` of
 * `1..s`, evenly spread (the SQL seeders use the same integer arithmetic).
 *
 * @example
 * isRevokedSession({ users: 1, sessions: 4, revoked: 1 }, 4) // true
 */
export function isRevokedSession(layout: Layout, j: number): boolean {
  const { sessions: s, revoked: r } = layout
  return Math.floor((j * r) / s) > Math.floor(((j - 1) * r) / s)
}

/**
 * `count` distinct live (not revoked) session numbers of one parity, spread over the table: callers
 * that take parity 0 and parity 1 get disjoint sets. Session 1, the admin's, is never among them.
 * Throws when the layout has too few.
 *
 * @example
 * liveSessions(FULL_LAYOUT, 1000, 0) // [2, 2002, 4002, …] (each moved to the next live one of its parity)
 */
export function liveSessions(layout: Layout, count: number, parity: 0 | 1): number[] {
  const out = new Set<number>()
  const candidates = Math.floor((layout.sessions - 1) / 2)
  const stride = Math.max(1, Math.floor(candidates / Math.max(1, count))) * 2
  for (let start = 2 + parity; start <= layout.sessions && out.size < count; start += stride) {
    for (let j = start; j <= layout.sessions; j += 2) {
      if (out.has(j)) break
      if (!isRevokedSession(layout, j)) {
        out.add(j)
        break
      }
    }
  }
  // A small layout may not stretch that far apart: take the rest in order.
  for (let j = 2 + parity; j <= layout.sessions && out.size < count; j += 2) if (!isRevokedSession(layout, j)) out.add(j)
  if (out.size < count)
    throw new Error(`scale bench: the layout has fewer than ${count} live sessions of parity ${parity}; seed more sessions`)
  return [...out]
}

/** Epoch seconds. */
export function nowSeconds(): number {
  return Math.floor(Date.now() / 1000)
}
