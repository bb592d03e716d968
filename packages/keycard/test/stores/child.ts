/**
 * A second process on a shared backend, driven by the contract suite over stdin/stdout, one command a
 * line: `wait <jti>` answers `seen <jti>` once its store holds the revocation (on the store's event);
 * `revoke <jti> <exp>` answers `revoked <jti>` once the revocation has committed; `exit` closes it.
 * It says `ready` once its store is live.
 *
 *   node --import tsx child.ts '{"kind":"sqlite","file":"/tmp/…/revocations.db"}'
 */

import { createInterface } from 'node:readline'
import { openStore, type StoreConfig, seen } from './backends.ts'

const config = JSON.parse(process.argv[2] ?? '') as StoreConfig
const { store, close } = await openStore(config)
await store.ready()
const say = (line: string) => process.stdout.write(`${line}\n`)
say('ready')
for await (const line of createInterface({ input: process.stdin })) {
  const [command, jti, exp] = line.split(' ')
  if (command === 'wait' && jti) seen(store, jti).then(() => say(`seen ${jti}`))
  else if (command === 'revoke' && jti) {
    await store.revoke(jti, Number(exp))
    say(`revoked ${jti}`)
  } else if (command === 'exit') break
}
await close()
process.stdin.destroy() // readline leaves stdin open, which would keep this process alive
