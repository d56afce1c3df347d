/**
 * The marker that nestjs-pgviews keeps in the comment of every object it creates: the content hash of
 * the declaration the object was built from. It survives dumps and restores and dies with the
 * object, so "is this view what the code declares?" is one string comparison, never a comparison of
 * `pg_get_viewdef` text. The user's own comment, if any, stays in front of it.
 */
const MARKER = /(?:^|\n\n)@pgviews ([0-9a-f]{32})$/;

export interface ParsedComment {
  /** The declaration hash, or undefined when the object carries no marker. */
  readonly hash?: string;
  /** The comment without the marker (undefined when there is none). */
  readonly userComment?: string;
}

export function markComment(hash: string, userComment?: string): string {
  return userComment ? `${userComment}\n\n@pgviews ${hash}` : `@pgviews ${hash}`;
}

export function parseComment(comment: string | null | undefined): ParsedComment {
  if (!comment) return {};
  const match = MARKER.exec(comment);
  if (!match) return { userComment: comment };
  const userComment = comment.slice(0, match.index);
  return { hash: match[1], userComment: userComment || undefined };
}
