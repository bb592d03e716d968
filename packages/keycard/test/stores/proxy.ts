/**
 * A TCP proxy in front of a test server, to take one store's backend away while the server itself
 * keeps serving the others: `cut()` drops every connection through it and refuses new ones (accepted
 * and closed at once, so clients see a reset, as after a crash), `restore()` lets them through again.
 */

import { createConnection, createServer, type Server, type Socket } from 'node:net'

export interface TcpProxy {
  readonly port: number
  cut(): void
  restore(): void
  close(): Promise<void>
}

export async function tcpProxy(targetPort: number): Promise<TcpProxy> {
  const sockets = new Set<Socket>()
  let open = true
  const track = (socket: Socket) => {
    sockets.add(socket)
    socket.on('close', () => sockets.delete(socket))
    socket.on('error', () => socket.destroy())
  }
  const server: Server = createServer((client) => {
    if (!open) {
      client.resetAndDestroy()
      return
    }
    const upstream = createConnection({ host: '127.0.0.1', port: targetPort })
    track(client)
    track(upstream)
    client.pipe(upstream)
    upstream.pipe(client)
    client.on('close', () => upstream.destroy())
    upstream.on('close', () => client.destroy())
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const address = server.address()
  if (address === null || typeof address === 'string') throw new Error('the proxy has no port')
  const cut = () => {
    open = false
    for (const socket of sockets) socket.resetAndDestroy()
  }
  return {
    port: address.port,
    cut,
    restore() {
      open = true
    },
    async close() {
      cut()
      await new Promise<void>((resolve) => server.close(() => resolve()))
    },
  }
}
