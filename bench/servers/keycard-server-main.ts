/**
 * Contenders 7–9's server: the real Keycard server (packages/server `loadConfig` + `buildApp`) on a
 * SQLite file, loopback only. bench/servers/keycard-server.ts sets DATABASE_URL (a temp file) and
 * JWT_SECRET; logging is at `warn` (LOG_LEVEL) so the per-request info lines do not dominate.
 */

import { buildApp } from '../../packages/server/src/app.ts'
import { loadConfig } from '../../packages/server/src/config.ts'
import { announce, exitOnSignal, host, port } from './common.ts'

const config = loadConfig({ ...process.env, PORT: String(port), HOST: host, LOG_LEVEL: process.env.LOG_LEVEL ?? 'warn' })
const app = await buildApp(config)
announce(await app.listen({ port: config.port, host: config.host }))
exitOnSignal(() => app.close())
