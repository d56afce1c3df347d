/** A refresh to run once the refreshes it depends on have finished. */
export interface GraphNode {
  readonly id: string;
  /** Ids of other nodes of the same run that must finish first; ids outside the run are ignored. */
  readonly after: readonly string[];
}

/** What happened to each node of a run. */
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
export function runGraph<T>(
  nodes: readonly GraphNode[],
  run: (id: string) => Promise<T>,
  options: GraphRunOptions<T>,
): Promise<GraphOutcome<T>[]> {
  return new Promise((resolve) => new GraphRun(nodes, run, options, resolve).settle());
}

/** One run of runGraph(): what has finished, what runs, and what may start next. */
class GraphRun<T> {
  private readonly limit: number;
  private readonly waiting: GraphNode[];
  private readonly outcomes = new Map<string, GraphOutcome<T>>();
  private readonly running = new Set<string>();
  private stopped = false;

  constructor(
    nodes: readonly GraphNode[],
    private readonly run: (id: string) => Promise<T>,
    private readonly options: GraphRunOptions<T>,
    private readonly resolve: (outcomes: GraphOutcome<T>[]) => void,
  ) {
    this.limit = Math.max(1, Math.floor(options.concurrency));
    const ids = new Set(nodes.map((node) => node.id));
    this.waiting = nodes.map((node) => ({ id: node.id, after: node.after.filter((id) => ids.has(id) && id !== node.id) }));
  }

  /** Leaves out what can no longer run, starts what can, and ends the run when nothing runs. */
  settle(): void {
    this.blockDependentsOfFailures();
    for (const node of this.waiting) {
      if (this.running.size >= this.limit) break;
      if (this.outcomes.has(node.id) || this.running.has(node.id)) continue;
      if (this.stopped) this.outcomes.set(node.id, { id: node.id, status: 'cancelled' });
      else if (node.after.every((id) => this.outcomes.get(id)?.status === 'done')) this.start(node.id);
    }
    if (this.running.size > 0) return;
    // Nothing runs: whatever is left is cancelled (a stopped run) or waits on itself (a cycle, which the registry refuses).
    const left = new Set(this.waiting.filter((node) => !this.outcomes.has(node.id)).map((node) => node.id));
    for (const node of this.waiting) {
      if (!left.has(node.id)) continue;
      const blocker = node.after.find((id) => left.has(id));
      this.outcomes.set(
        node.id,
        this.stopped || blocker === undefined
          ? { id: node.id, status: 'cancelled' }
          : { id: node.id, status: 'blocked', blockedBy: blocker },
      );
    }
    this.resolve(this.waiting.map((node) => this.outcomes.get(node.id)!));
  }

  /** A node waiting on one that failed, was left out, or holds its dependents, is left out too (transitively). */
  private blockDependentsOfFailures(): void {
    for (let changed = true; changed;) {
      changed = false;
      for (const node of this.waiting) {
        if (this.outcomes.has(node.id)) continue;
        const blocker = node.after.find((id) => {
          const outcome = this.outcomes.get(id);
          return outcome !== undefined && (outcome.status !== 'done' || this.options.holdsDependents?.(outcome.result) === true);
        });
        if (blocker !== undefined) {
          this.outcomes.set(node.id, { id: node.id, status: 'blocked', blockedBy: blocker });
          changed = true;
        }
      }
    }
  }

  private start(id: string): void {
    this.running.add(id);
    // Started on the next turn of the event loop, so that a node that throws synchronously is a failure too.
    void Promise.resolve()
      .then(() => this.run(id))
      .then(
        (result) => this.outcomes.set(id, { id, status: 'done', result }),
        (error: unknown) => {
          this.outcomes.set(id, { id, status: 'failed', error });
          if (this.options.stopOnFailure) this.stopped = true;
        },
      )
      .finally(() => {
        this.running.delete(id);
        this.settle();
      });
  }
}
