import { serve } from '@hono/node-server'
import { Hono } from 'hono'
import { createKeycard } from 'keycard'
import { honoKeycard, type KeycardEnv } from 'keycard/hono'

const keycard = await createKeycard({ secret: process.env.JWT_SECRET!, tokenLocation: ['headers', 'cookies'] })
const auth = honoKeycard(keycard, { implicitRefresh: { within: '5m' } })
const app = new Hono<KeycardEnv>()

app.post('/login', async (c) => {
  const { username } = await c.req.json<{ username: string }>() // check the password first!
  const access_token = await keycard.createAccessToken(username)
  auth.setAccessCookies(c, access_token) // for a browser; an API client uses the returned token
  return c.json({ access_token })
})
app.get('/protected', auth.jwtRequired(), (c) => c.json({ logged_in_as: c.get('jwt')!.identity }))
app.post('/logout', (c) => {
  auth.unsetJwtCookies(c)
  return c.json({ msg: 'logout successful' })
})
serve({ fetch: app.fetch, port: Number(process.env.PORT ?? 3000), hostname: '127.0.0.1' }, (info) => {
  console.log(`http://127.0.0.1:${info.port}`)
})
