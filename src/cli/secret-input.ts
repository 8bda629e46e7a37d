import fs from 'node:fs'
import { ZhianError } from '../errors.ts'

/**
 * A secret the operator gives the CLI (a user's password, a device's secret): `--NAME-stdin`,
 * `--NAME-file FILE` or `--NAME VALUE`. The last shows in the process list and the shell history, so
 * the other two exist; from stdin or a file one trailing newline is dropped, as `echo` and editors
 * add it.
 */

/** parseArgs options for `--NAME`, `--NAME-stdin` and `--NAME-file`. */
export function secretOptions<N extends string>(name: N) {
  return {
    [name]: { type: 'string' },
    [`${name}-stdin`]: { type: 'boolean' },
    [`${name}-file`]: { type: 'string' },
  } as Record<N | `${N}-file`, { type: 'string' }> & Record<`${N}-stdin`, { type: 'boolean' }>
}

/** What was given: undefined = none; null = more than one (say `moreThanOne(name)`). */
export function chosenSecret(
  values: Record<string, string | boolean | undefined>,
  name: string,
): string | undefined | null {
  const inline = values[name] as string | undefined
  const stdin = values[`${name}-stdin`] === true
  const file = values[`${name}-file`] as string | undefined
  if ([inline !== undefined, stdin, file !== undefined].filter(Boolean).length > 1) return null
  if (stdin) return withoutNewline(fs.readFileSync(0, 'utf8'))
  if (file !== undefined) {
    try {
      return withoutNewline(fs.readFileSync(file, 'utf8'))
    } catch (err) {
      throw new ZhianError('ZHIAN_ERR_VALIDATION', `--${name}-file ${file}: ${(err as Error).message}`)
    }
  }
  return inline
}

export function moreThanOne(name: string): string {
  return `give at most one of --${name}, --${name}-stdin, --${name}-file`
}

const withoutNewline = (text: string) => text.replace(/\r?\n$/, '')
