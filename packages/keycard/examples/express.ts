import express from 'express'
import { createKeycard } from 'keycard'
import { expressKeycard } from 'keycard/express'

const keycard = await createKeycard({ secret: process.env.JWT_SECRET! })
const auth = expressKeycard(keycard)
const app = express()
app.use(express.json())

app.post('/login', async (req, res) => {
  const { username } = req.body // check the password first!
  res.json({ access_token: await keycard.createAccessToken(username, { fresh: true }) })
})
app.get('/protected', auth.jwtRequired(), (req, res) => {
  res.json({ logged_in_as: req.jwt!.identity })
})
app.get('/settings', auth.jwtRequired({ fresh: true }), (req, res) => {
  res.json({ claims: req.jwt!.claims })
})
const server = app.listen(Number(process.env.PORT ?? 3000), '127.0.0.1', () => {
  const { port } = server.address() as { port: number }
  console.log(`http://127.0.0.1:${port}`)
})
