/**
 * The database's identity: one row holding a random id, made once, when the database is created. The
 * server puts it in every token (the `dbid` claim) and refuses tokens without it or with another, so a
 * token issued against one database never acts on another that the same JWT_SECRET serves (a deleted
 * and re-created database starts its user ids at 1 again).
 */

import { randomBytes } from 'node:crypto'
import { sql, type Kysely } from 'kysely'

export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable('database_identity')
    // One row only: the key can only be 1.
    .addColumn('singleton', 'integer', (c) => c.primaryKey().notNull().defaultTo(1).check(sql`singleton = 1`))
    .addColumn('id', 'varchar(64)', (c) => c.notNull())
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .execute()
  // 128 random bits, base64url: 22 characters.
  await db
    .insertInto('database_identity')
    .values({ singleton: 1, id: randomBytes(16).toString('base64url'), created_at: Math.floor(Date.now() / 1000) })
    .execute()
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropTable('database_identity').execute()
}
