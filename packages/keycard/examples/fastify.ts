import Fastify from 'fastify'
import { createKeycard, MemoryRevocationStore } from 'keycard'
import { fastifyKeycard } from 'keycard/fastify'

const keycard = await createKeycard({ secret: process.env.JWT_SECRET!, revocationStore: new MemoryRevocationStore() })
const auth = fastifyKeycard(keycard)
const app = Fastify()
await app.register(auth.plugin)

app.post('/login', async (req) => {
  const { username } = req.body as { username: string } // check the password first!
  const access_token = await keycard.createAccessToken(username, { fresh: true })
  return { access_token, refresh_token: await keycard.createRefreshToken(username) }
})
app.get('/protected', { preHandler: auth.jwtRequired() }, (req) => ({ logged_in_as: req.jwt!.identity }))
app.post('/refresh', { preHandler: auth.jwtRequired({ refresh: true }) }, async (req) => ({
  access_token: await keycard.createAccessToken(req.jwt!.identity),
}))
app.delete('/logout', { preHandler: auth.jwtRequired({ verifyType: false }) }, async (req) => {
  await keycard.revokeToken(req.jwt!.claims)
  return { msg: 'Token revoked' }
})
console.log(await app.listen({ port: Number(process.env.PORT ?? 3000), host: '127.0.0.1' }))
