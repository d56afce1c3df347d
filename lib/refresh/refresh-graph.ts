/** A refresh to run once the refreshes it depends on have finished. */
export interface GraphNode {
  readonly id: string;
  /** Ids of other nodes of the same run that must finish first; ids outside the run are ignored. */
  readonly after: readonly string[];
}

/** What happened to a node that did not produce a result. */
export type GraphOutcome<T> =
  | { readonly id: string; readonly status: 'done'; readonly result: T }
  | { readonly id: string; readonly status: 'failed'; readonly error: unknown }
  /** Not started: a node it runs after failed (`blockedBy`) or asked its dependents to be left alone. */
  | { readonly id: string; readonly status: 'blocked'; readonly blockedBy: string }
  /** Not started: an earlier failure stopped the run (`stopOnFailure`). */
  | { readonly id: string; readonly status: 'cancelled' };

export interface GraphRunOptions<T> {
  /** How many nodes run at the same time, at most (at least 1). */
  readonly concurrency: number;
  /** After a failure, start nothing more (the running nodes finish); otherwise only its dependents are left out. */
  readonly stopOnFailure?: boolean;
  /** After a node succeeds with this result, whether the nodes that run after it must be left out (they are `blocked`). */
  readonly holdsDependents?: (result: T) => boolean;
}

/**
 * Runs `nodes` so that each starts only after every node it depends on has finished, with at most
 * `concurrency` running at once. Among the nodes that are ready, the one listed first starts first, so
 * with a concurrency of 1 the nodes run exactly in list order (which must then be a dependency order).
 * A node whose dependency failed is not started. Never rejects: every node's outcome is returned, in
 * list order.
 */
export async function runGraph<T>(
  nodes: readonly GraphNode[],
  run: (id: string) => Promise<T>,
  options: GraphRunOptions<T>,
): Promise<GraphOutcome<T>[]> {
  const limit = Math.max(1, Math.floor(options.concurrency));
  const ids = new Set(nodes.map((node) => node.id));
  const outcomes = new Map<string, GraphOutcome<T>>();
  const running = new Set<string>();
  const waiting = nodes.map((node) => ({ id: node.id, after: node.after.filter((id) => ids.has(id) && id !== node.id) }));
  let stopped = false;

  return new Promise((resolve) => {
    const settle = () => {
      // A node waiting on one that did not succeed is not run; neither is anything when the run stopped.
      for (let changed = true; changed;) {
        changed = false;
        for (const node of waiting) {
          if (outcomes.has(node.id)) continue;
          const blocker = node.after.find((id) => {
            const outcome = outcomes.get(id);
            return outcome !== undefined && (outcome.status !== 'done' || options.holdsDependents?.(outcome.result) === true);
          });
          if (blocker !== undefined) {
            outcomes.set(node.id, { id: node.id, status: 'blocked', blockedBy: blocker });
            changed = true;
          }
        }
      }
      for (const node of waiting) {
        if (running.size >= limit) break;
        if (outcomes.has(node.id) || running.has(node.id)) continue;
        if (stopped) outcomes.set(node.id, { id: node.id, status: 'cancelled' });
        else if (node.after.every((id) => outcomes.get(id)?.status === 'done')) start(node.id);
      }
      if (running.size > 0) return;
      // Nothing runs: whatever is left is cancelled (a stopped run) or waits on itself (a cycle, which the registry refuses).
      const left = new Set(waiting.filter((node) => !outcomes.has(node.id)).map((node) => node.id));
      for (const node of waiting) {
        if (!left.has(node.id)) continue;
        const blocker = node.after.find((id) => left.has(id));
        outcomes.set(
          node.id,
          stopped || blocker === undefined ? { id: node.id, status: 'cancelled' } : { id: node.id, status: 'blocked', blockedBy: blocker },
        );
      }
      resolve(waiting.map((node) => outcomes.get(node.id)!));
    };
    const start = (id: string) => {
      running.add(id);
      // Started on the next turn of the event loop, so that a node that throws synchronously is a failure too.
      void Promise.resolve()
        .then(() => run(id))
        .then(
          (result) => outcomes.set(id, { id, status: 'done', result }),
          (error: unknown) => {
            outcomes.set(id, { id, status: 'failed', error });
            if (options.stopOnFailure) stopped = true;
          },
        )
        .finally(() => {
          running.delete(id);
          settle();
        });
    };
    settle();
  });
}
