/** PostgreSQL for the scale bench: not written until the server supports DATABASE_URL=postgres://… (see open.ts). */

import type { ScaleDatabase } from './databases.ts'

export async function postgresDatabase(_log: (msg: string) => void): Promise<ScaleDatabase> {
  throw new Error('the scale bench has no PostgreSQL seeder yet')
}
