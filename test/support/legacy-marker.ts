/** A comment as versions before the state table wrote it: the user's comment, then the declaration hash. */
export function markComment(hash: string, userComment?: string): string {
  return userComment ? `${userComment}\n\n@pgviews ${hash}` : `@pgviews ${hash}`;
}
