/** Tiny DOM helpers shared by the views: elements, labelled fields, forms that report errors, messages. */

import { ApiError } from './api.ts'

type Child = Node | string | null | undefined | false
type Attrs = Record<string, string | number | boolean | undefined | ((event: Event) => void)>

/** `h('button', { type: 'button', onclick }, 'Revoke')`: attributes as given, `on*` as listeners, text as text. */
export function h<K extends keyof HTMLElementTagNameMap>(tag: K, attrs: Attrs = {}, ...children: Child[]): HTMLElementTagNameMap[K] {
  const el = document.createElement(tag)
  for (const [key, value] of Object.entries(attrs)) {
    if (value === undefined || value === false) continue
    if (typeof value === 'function') el.addEventListener(key.slice(2), value)
    else el.setAttribute(key, value === true ? '' : String(value))
  }
  el.append(...children.filter((c): c is Node | string => c !== null && c !== undefined && c !== false))
  return el
}

/** A screen: a section whose heading takes the focus when the screen is shown. */
export function screen(name: string, title: string, ...children: Child[]): HTMLElement {
  return h(
    'section',
    { 'data-testid': `screen-${name}`, 'aria-labelledby': `${name}-title` },
    h('h1', { id: `${name}-title`, tabindex: -1 }, title),
    ...children,
  )
}

/** A labelled input; `hint` is tied to it with aria-describedby. */
export function field(label: string, id: string, attrs: Attrs & { type?: string }, hint?: string): HTMLDivElement {
  const hintId = hint ? `${id}-hint` : undefined
  return h(
    'div',
    { class: 'field' },
    h('label', { for: id }, label),
    h('input', { id, name: id, 'aria-describedby': hintId, ...attrs }),
    hint && h('p', { class: 'hint', id: hintId }, hint),
  )
}

const errorBox = () => document.getElementById('error')!
const noticeBox = () => document.getElementById('notice')!

export function clearMessages(): void {
  errorBox().textContent = ''
  noticeBox().textContent = ''
}

export function notice(text: string): void {
  errorBox().textContent = ''
  noticeBox().textContent = text
}

/** Shows a text, or an error's msg from the server (else a generic line), in the alert region. */
export function showError(err: unknown): void {
  if (err instanceof ApiError && err.ended) return
  noticeBox().textContent = ''
  errorBox().textContent = typeof err === 'string' ? err : err instanceof ApiError ? err.message : 'Something went wrong. Please try again.'
  if (typeof err !== 'string' && !(err instanceof ApiError)) console.error(err)
}

/**
 * A form whose submit runs `onSubmit` with the field values; the submit button is disabled meanwhile,
 * errors go to the alert region, and the field an error names (the server's `field`, or the page's own
 * check) is marked invalid and focused.
 */
export function form(
  onSubmit: (values: Record<string, string>, el: HTMLFormElement) => Promise<void>,
  ...children: Child[]
): HTMLFormElement {
  const el = h('form', { novalidate: true }, ...children)
  el.addEventListener('submit', async (event) => {
    event.preventDefault()
    const values: Record<string, string> = {}
    for (const [key, value] of new FormData(el)) values[key] = String(value)
    const buttons = el.querySelectorAll('button')
    for (const b of buttons) b.disabled = true
    for (const input of el.querySelectorAll('[aria-invalid]')) input.removeAttribute('aria-invalid')
    try {
      await onSubmit(values, el)
    } catch (err) {
      showError(err)
      const named = err instanceof ApiError ? err.field : undefined
      const input = named ? el.querySelector<HTMLInputElement>(`input[name="${CSS.escape(named)}"]`) : null
      if (input) {
        input.setAttribute('aria-invalid', 'true')
        input.focus()
      }
    } finally {
      for (const b of buttons) b.disabled = false
    }
  })
  return el
}

export function when(iso: string): string {
  const date = new Date(iso)
  return Number.isNaN(date.getTime()) ? iso : date.toLocaleString()
}
