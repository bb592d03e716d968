/**
 * The Flask token window (ACCEPT_FLASK_TOKENS_UNTIL, src/flask-tokens.ts). Tokens the Flask service
 * signed carry no session id, so they are revoked one `jti` at a time (`flask_token_blocklist`, a row
 * kept until that token's `exp`, then purged), or all of a user's at once (`flask_token_cutoffs`: tokens
 * issued at or before `not_before` are refused; written by logout-all and password changes). Neither
 * table has a foreign key: a blocklisted jti must stay refused whatever happens to the user.
 */

import type { Kysely } from 'kysely'

export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable('flask_token_blocklist')
    .addColumn('jti', 'varchar(64)', (c) => c.primaryKey())
    .addColumn('user_id', 'integer', (c) => c.notNull())
    .addColumn('expires_at', 'bigint', (c) => c.notNull())
    .addColumn('revoked_at', 'bigint', (c) => c.notNull())
    .execute()
  await db.schema.createIndex('flask_token_blocklist_expires_at').on('flask_token_blocklist').column('expires_at').execute()
  await db.schema
    .createTable('flask_token_cutoffs')
    .addColumn('user_id', 'integer', (c) => c.primaryKey())
    .addColumn('not_before', 'bigint', (c) => c.notNull())
    .execute()
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropTable('flask_token_cutoffs').execute()
  await db.schema.dropTable('flask_token_blocklist').execute()
}
