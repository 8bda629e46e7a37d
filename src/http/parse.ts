import type { z } from 'zod'
import { ZhianError } from '../errors.ts'

/** Parse a request part with zod; a failure is a coded 400 that changes nothing. */
export function parseWith<T>(schema: z.ZodType<T>, value: unknown): T {
  const result = schema.safeParse(value)
  if (!result.success) {
    const issue = result.error.issues[0]!
    throw new ZhianError('ZHIAN_ERR_VALIDATION', `${issue.path.join('.') || 'body'}: ${issue.message}`)
  }
  return result.data
}
