/**
 * An app that types its user and claims once, through `KeycardTypes`: compiled on its own by
 * typed-user.test.ts (the augmentation would otherwise apply to every keycard test). Each `Equals`
 * must hold and each `@ts-expect-error` line must stay an error, or the compile fails.
 */

import type { FastifyRequest } from 'fastify'
import type { Request as ExpressRequest } from 'express'
import type { Context } from 'hono'
import { Hono } from 'hono'
import { createKeycard, type JwtContext } from 'keycard'
import { expressKeycard } from 'keycard/express'
import { fastifyKeycard } from 'keycard/fastify'
import { honoKeycard } from 'keycard/hono'

interface MyUser {
  id: number
  name: string
}

declare module 'keycard' {
  interface KeycardTypes {
    user: MyUser
    claims: { roles: string[] }
  }
}

type Equals<A, B> = (<T>() => T extends A ? 1 : 2) extends <T>() => T extends B ? 1 : 2 ? true : false
export function expectType<T extends true>(): T | undefined {
  return undefined
}

export async function typedWithoutGenerics(): Promise<number> {
  // No generic anywhere: the user's type comes from KeycardTypes.
  const keycard = await createKeycard({ secret: 'typed-user-secret-0123456789-0123456789', userLookup: async () => ({ id: 1, name: 'a' }) })
  // @ts-expect-error the declared claims are typed too
  const roles: number = (await keycard.checkRequest({ method: 'GET', header: () => undefined }))!.claims.roles

  const fastify = fastifyKeycard(keycard)
  const express = expressKeycard(keycard)
  const hono = honoKeycard(keycard)

  const fromFastify = fastify.context({} as FastifyRequest)
  const fromExpress = express.context({} as ExpressRequest)
  const fromHono = hono.context({} as Context)
  expectType<Equals<typeof fromFastify.user, MyUser>>()
  expectType<Equals<typeof fromExpress.user, MyUser>>()
  expectType<Equals<typeof fromHono.user, MyUser>>()
  expectType<Equals<typeof fromHono.claims.roles, string[]>>()
  // FJE's claims are still there, next to the app's.
  expectType<Equals<typeof fromFastify.claims.sub, string | undefined>>()
  // @ts-expect-error the user has no such field
  fromExpress.user.email

  // The request decorations, too.
  const request = {} as FastifyRequest
  expectType<Equals<typeof request.jwt, JwtContext<MyUser> | null>>()
  const req = {} as ExpressRequest
  expectType<Equals<typeof req.jwt, JwtContext<MyUser> | null | undefined>>()

  // And Hono's c.get('jwt') in a guarded route, typed by the middleware alone.
  const app = new Hono()
  app.get('/me', hono.jwtRequired(), (c) => {
    const jwt = c.get('jwt')
    expectType<Equals<typeof jwt, JwtContext<MyUser> | null>>()
    // @ts-expect-error a number id, not a string
    const id: string = jwt!.user.id
    return c.json({ id, name: jwt!.user.name })
  })
  return roles
}
