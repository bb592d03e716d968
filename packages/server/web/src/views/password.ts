import { api, ApiError, type RevokedSessions } from '../api.ts'
import { field, form, h, notice, screen } from '../dom.ts'
import type { App } from '../main.ts'

/**
 * Change password. The server wants a fresh token (from a password login): when it answers
 * KEYCARD_FRESH_TOKEN_REQUIRED ("Fresh token required"), the page asks for the current password, gets a fresh token (POST /auth/fresh-login)
 * and sends the change again.
 */
export function passwordView(app: App): HTMLElement {
  const username = app.user!.username
  // For password managers: which account these passwords belong to.
  const account = () =>
    h('input', { type: 'text', name: 'username', autocomplete: 'username', value: username, hidden: true, tabindex: -1 })
  let pending = ''
  const reauth = h('div', { hidden: true, 'data-testid': 'reauth' })

  async function change(newPassword: string): Promise<void> {
    const res = await api<RevokedSessions>('POST', '/auth/password', { new_password: newPassword })
    pending = ''
    reauth.hidden = true
    main.reset()
    main.hidden = false
    const others = res.revoked_sessions ? ` ${res.revoked_sessions} other session(s) were signed out.` : ''
    notice(`Your password has been changed.${others}`)
    main.querySelector<HTMLInputElement>('#new_password')?.focus()
  }

  const main = form(
    async (values, el) => {
      if ((values.new_password ?? '').length < 8)
        throw new ApiError(0, 'PASSWORD_TOO_SHORT', 'The new password must be at least 8 characters.', 'new_password')
      if (values.new_password !== values.confirm_password)
        throw new ApiError(0, 'PASSWORDS_DIFFER', 'The two new passwords do not match.', 'confirm_password')
      try {
        await change(values.new_password ?? '')
      } catch (err) {
        if (!(err instanceof ApiError && err.code === 'KEYCARD_FRESH_TOKEN_REQUIRED')) throw err
        pending = values.new_password ?? ''
        el.hidden = true
        reauth.hidden = false
        notice('For your security, confirm your current password to finish.')
        reauth.querySelector<HTMLInputElement>('#current_password')?.focus()
      }
    },
    account(),
    field(
      'New password',
      'new_password',
      { type: 'password', autocomplete: 'new-password', required: true, minlength: 8 },
      'At least 8 characters.',
    ),
    field('Confirm new password', 'confirm_password', { type: 'password', autocomplete: 'new-password', required: true }),
    h('button', { type: 'submit' }, 'Change password'),
  )

  const cancel = h('button', { type: 'button', class: 'secondary' }, 'Cancel')
  cancel.addEventListener('click', () => app.go('password'))
  reauth.append(
    h('h2', {}, 'Confirm it is you'),
    form(
      async (values) => {
        await api('POST', '/auth/fresh-login', { username, password: values.current_password })
        await change(pending)
      },
      account(),
      field('Current password', 'current_password', { type: 'password', autocomplete: 'current-password', required: true }),
      h('div', { class: 'actions' }, h('button', { type: 'submit' }, 'Confirm and change password'), cancel),
    ),
  )

  return screen('password', 'Change password', main, reauth)
}
