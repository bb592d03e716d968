/**
 * `start(config)`: builds the app, listens, and on SIGTERM/SIGINT stops accepting connections, lets
 * in-flight requests finish, then closes the database (Fastify's `close` does the draining; the app's
 * onClose hook closes the database and stops the purge timer). The CLI's `serve` calls it.
 */

import type { FastifyInstance } from 'fastify'
import { buildApp, type AppDeps } from './app.ts'
import type { Config } from './config.ts'

export interface StartOptions extends AppDeps {
  /** Install SIGTERM/SIGINT handlers that close the server and exit. Default true. */
  handleSignals?: boolean
}

export interface RunningServer {
  app: FastifyInstance
  /** `http://host:port` actually bound (useful with PORT=0). */
  url: string
  /** Drains in-flight requests and closes the database; safe to call twice. */
  close(): Promise<void>
}

export async function start(config: Config, options: StartOptions = {}): Promise<RunningServer> {
  const app = await buildApp(config, options)
  let closing: Promise<void> | undefined
  const close = () => (closing ??= app.close())

  if (options.handleSignals ?? true) {
    const onSignal = (signal: NodeJS.Signals) => {
      app.log.info({ signal }, 'shutting down: draining requests')
      const force = setTimeout(() => {
        app.log.error('shutdown took over 10s: exiting')
        process.exit(1)
      }, 10_000)
      force.unref()
      close().then(
        () => process.exit(0),
        (err) => {
          app.log.error({ err }, 'shutdown failed')
          process.exit(1)
        },
      )
    }
    process.once('SIGTERM', onSignal)
    process.once('SIGINT', onSignal)
    app.addHook('onClose', async () => {
      process.off('SIGTERM', onSignal)
      process.off('SIGINT', onSignal)
    })
  }
  const url = await app.listen({ port: config.port, host: config.host })
  return { app, url, close }
}
