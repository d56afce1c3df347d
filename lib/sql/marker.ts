/**
 * The marker that versions before the state table kept at the end of the comment of every object they
 * created: the content hash of the declaration it was built from, after the user's own comment. Read
 * only to take such a database over (see parseCatalogObject); nothing writes it any more.
 */
const MARKER = /(?:^|\n\n)@pgviews ([0-9a-f]{32})$/;

export interface ParsedComment {
  /** The declaration hash, or undefined when the object carries no marker. */
  readonly hash?: string;
  /** The comment without the marker (undefined when there is none). */
  readonly userComment?: string;
}

export function parseComment(comment: string | null | undefined): ParsedComment {
  if (!comment) return {};
  const match = MARKER.exec(comment);
  if (!match) return { userComment: comment };
  const userComment = comment.slice(0, match.index);
  return { hash: match[1], userComment: userComment || undefined };
}
