import { createHash } from 'node:crypto';

/** A 128-bit hex digest of a JSON-serialisable value, stable across runs and machines. */
export function contentHash(value: unknown): string {
  return createHash('sha256').update(JSON.stringify(value)).digest('hex').slice(0, 32);
}
