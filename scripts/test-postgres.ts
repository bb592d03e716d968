// Started by scripts/test.mjs: the one throwaway PostgreSQL server of a whole test run (the test
// processes each take databases of their own on it, through KEYCARD_TEST_POSTGRES_URL). Checks first
// that redis-server is installed too, so a missing server program fails the run at once with the
// message saying what to install (MissingBinaryError), rather than a suite later or never.
//
// Protocol: one line on stdout, `ready <admin url>` or `error <message>`; then it runs until SIGTERM,
// SIGINT or its stdin closing (test.mjs ended or died), and stops the server (its data dir removed).
import { redisBinary, startPostgres } from '@keycard/test-servers'

function say(line: string): void {
  process.stdout.write(`${line.replaceAll('\n', ' ')}\n`)
}

try {
  redisBinary()
  const server = await startPostgres({ removeOnExit: true })
  let stopping = false
  const stop = async () => {
    if (stopping) return
    stopping = true
    await server.stop().catch(() => undefined)
    process.exit(0)
  }
  process.once('SIGTERM', stop)
  process.once('SIGINT', stop)
  process.stdin.on('end', stop)
  process.stdin.on('error', stop)
  process.stdin.resume()
  say(`ready ${server.url()}`)
} catch (err) {
  say(`error ${err instanceof Error ? err.message : String(err)}`)
  process.exit(1)
}
