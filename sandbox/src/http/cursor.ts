// Opaque cursors: base64url JSON of where the last page ended in (updated_at, id) order,
// plus the filter the listing started with so a cursor cannot silently change meaning.

import { ApiError } from './errors.js';

export interface CursorState {
  type: string;
  updatedAt: string;
  id: string;
  updatedSince: string | null;
}

export function encodeCursor(c: CursorState): string {
  return Buffer.from(JSON.stringify([c.type, c.updatedAt, c.id, c.updatedSince])).toString('base64url');
}

export function decodeCursor(raw: string, type: string): CursorState {
  try {
    const v: unknown = JSON.parse(Buffer.from(raw, 'base64url').toString('utf8'));
    if (Array.isArray(v) && v.length === 4 && v[0] === type && typeof v[1] === 'string' && typeof v[2] === 'string' && (v[3] === null || typeof v[3] === 'string')) {
      return { type, updatedAt: v[1], id: v[2], updatedSince: v[3] };
    }
  } catch {
    // fall through to the error below
  }
  throw new ApiError(400, 'invalid_cursor', 'The cursor is malformed or belongs to another list.');
}
