// Request parsing helpers built on zod; failures become 400 invalid_request errors.

import { z } from 'zod';
import { ApiError } from './errors.js';

export function parse<T>(schema: z.ZodType<T>, input: unknown, where: string): T {
  const r = schema.safeParse(input ?? {});
  if (r.success) return r.data;
  const issues = r.error.issues.map((i) => ({ path: i.path.join('.'), message: i.message }));
  const first = issues[0];
  throw new ApiError(400, 'invalid_request', `invalid ${where}${first ? `: ${first.path || '(root)'} ${first.message}` : ''}`, issues);
}

export const isoTimestamp = z.iso.datetime({ offset: true }).transform((s) => new Date(s).toISOString());

export function isTimeZone(tz: string): boolean {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: tz });
    return true;
  } catch {
    return false;
  }
}

export const timeZone = z.string().refine(isTimeZone, 'must be an IANA time zone');

/** One field's problem in a 422 `validation_failed` answer (`details.field_errors`). */
export interface FieldError {
  field: string;
  code: string;
  message: string;
}

export function fieldErrorsOf(issues: readonly { path: readonly PropertyKey[]; code: string; message: string }[]): FieldError[] {
  return issues.map((i) => ({ field: i.path.map(String).join('.') || '(root)', code: i.code, message: i.message }));
}
