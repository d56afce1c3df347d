import { describe, expect, it } from '@jest/globals';
import { Entity, PrimaryKey } from '@mikro-orm/decorators/legacy';
import { ScheduleModule } from '@nestjs/schedule';
import { MaterializedView, PgViewsRefreshAllError, RefreshSchedule, View, ViewRefreshService } from 'nestjs-pgviews';
import { waitFor } from '../support/system.js';
import { useTestDatabase } from '../support/test-database.js';
import { useApps } from '../support/views-app.js';

/**
 * A graph of materialized views (v is a plain view), each of whose refreshes takes at least 0.25 s:
 *
 *   graph_a  graph_b   graph_c
 *        \   /            |
 *       graph_d        graph_v (view)
 *            \            |
 *             \        graph_e
 *              \       /
 *              graph_top
 */
const SLOW = 'pg_sleep(0.25) IS NOT NULL AS slept';

@MaterializedView({ sql: `SELECT id, ${SLOW} FROM graph_source`, uniqueKey: ['id'] })
@Entity({ tableName: 'graph_a' })
class GraphA {
  @PrimaryKey() id!: number;
}

@MaterializedView({ sql: `SELECT id, ${SLOW} FROM graph_source`, uniqueKey: ['id'] })
@Entity({ tableName: 'graph_b' })
class GraphB {
  @PrimaryKey() id!: number;
}

@MaterializedView({ sql: `SELECT id, ${SLOW} FROM graph_source`, uniqueKey: ['id'] })
@Entity({ tableName: 'graph_c' })
class GraphC {
  @PrimaryKey() id!: number;
}

@MaterializedView({ sql: `SELECT a.id, ${SLOW} FROM graph_a a JOIN graph_b b USING (id)`, uniqueKey: ['id'] })
@Entity({ tableName: 'graph_d' })
class GraphD {
  @PrimaryKey() id!: number;
}

@View({ sql: 'SELECT id FROM graph_c' })
@Entity({ tableName: 'graph_v' })
class GraphV {
  @PrimaryKey() id!: number;
}

@MaterializedView({ sql: `SELECT id, ${SLOW} FROM graph_v`, uniqueKey: ['id'] })
@Entity({ tableName: 'graph_e' })
class GraphE {
  @PrimaryKey() id!: number;
}

@MaterializedView({ sql: `SELECT d.id, ${SLOW} FROM graph_d d JOIN graph_e e USING (id)`, uniqueKey: ['id'] })
@Entity({ tableName: 'graph_top' })
class GraphTop {
  @PrimaryKey() id!: number;
}

/** Fails to refresh once `fragile_source` holds an id twice: duplicates under its unique key. */
@MaterializedView({ sql: `SELECT id FROM fragile_source`, uniqueKey: ['id'] })
@Entity({ tableName: 'graph_fragile' })
class GraphFragile {
  @PrimaryKey() id!: number;
}

@MaterializedView({ sql: `SELECT id FROM graph_fragile`, uniqueKey: ['id'] })
@Entity({ tableName: 'graph_after_fragile' })
class GraphAfterFragile {
  @PrimaryKey() id!: number;
}

/** Two tracked branches under a view with a freshness target (which makes its sources tracked; no loop runs with schedules: false). */
@MaterializedView({ sql: 'SELECT count(*)::int AS n, 1 AS id FROM skip_source_1', uniqueKey: ['id'] })
@Entity({ tableName: 'skip_a' })
class SkipA {
  @PrimaryKey() id!: number;
}

@MaterializedView({ sql: 'SELECT count(*)::int AS n, 1 AS id FROM skip_source_2', uniqueKey: ['id'] })
@Entity({ tableName: 'skip_b' })
class SkipB {
  @PrimaryKey() id!: number;
}

@MaterializedView({
  sql: 'SELECT a.id, a.n + b.n AS n FROM skip_a a JOIN skip_b b USING (id)',
  uniqueKey: ['id'],
  freshness: { maxStaleness: '1h' },
})
@Entity({ tableName: 'skip_top' })
class SkipTop {
  @PrimaryKey() id!: number;
}

/** graph_top's query, on a schedule that refreshes its whole chain at every tick. */
@RefreshSchedule('* * * * * *', { withDependencies: true, whenChanged: false })
@MaterializedView({ sql: `SELECT d.id, ${SLOW} FROM graph_d d JOIN graph_e e USING (id)`, uniqueKey: ['id'] })
@Entity({ tableName: 'graph_scheduled_top' })
class GraphScheduledTop {
  @PrimaryKey() id!: number;
}

const GRAPH = [GraphA, GraphB, GraphC, GraphD, GraphV, GraphE, GraphTop];
const UPSTREAM: Record<string, string[]> = {
  'public.graph_d': ['public.graph_a', 'public.graph_b'],
  'public.graph_e': ['public.graph_c'],
  'public.graph_top': ['public.graph_a', 'public.graph_b', 'public.graph_c', 'public.graph_d', 'public.graph_e'],
};

const db = useTestDatabase({
  sql:
    'CREATE TABLE graph_source (id int NOT NULL); INSERT INTO graph_source VALUES (1); CREATE TABLE fragile_source (id int NOT NULL); ' +
    'CREATE TABLE skip_source_1 (id int); CREATE TABLE skip_source_2 (id int)',
});
const apps = useApps(db);

interface Run {
  view: string;
  started: number;
  finished: number;
  concurrent: boolean;
}

/** The refreshes recorded since `since`, from the history, timed by the server's clock. */
async function recordedSince(since: Date): Promise<Run[]> {
  const rows = await db.query(
    `SELECT view_schema || '.' || view_name AS view, extract(epoch FROM started_at) * 1000 AS started,
       extract(epoch FROM finished_at) * 1000 AS finished, concurrent
     FROM pgviews_refresh_history WHERE started_at >= $1 ORDER BY started_at`,
    [since],
  );
  return rows.map((row) => ({ view: row.view, started: Number(row.started), finished: Number(row.finished), concurrent: row.concurrent }));
}

/** The most refreshes that were running at one moment. */
function mostAtOnce(runs: readonly Run[]): number {
  const edges = runs.flatMap((run) => [
    { at: run.started, change: 1 },
    { at: run.finished, change: -1 },
  ]);
  // An end and a start at the same instant do not overlap: ends first.
  edges.sort((x, y) => x.at - y.at || x.change - y.change);
  let now = 0;
  let most = 0;
  for (const edge of edges) most = Math.max(most, (now += edge.change));
  return most;
}

/** Polls pg_stat_activity while `work` runs: the most REFRESH statements of graph views it saw running at once. */
async function watchRefreshes<T>(work: Promise<T>): Promise<{ result: T; mostSeen: number }> {
  const observer = await db.connect();
  let done = false;
  let mostSeen = 0;
  const watching = (async () => {
    while (!done) {
      const { rows } = await observer.query(
        `SELECT count(*)::int AS n FROM pg_stat_activity
         WHERE datname = current_database() AND state = 'active' AND query LIKE '%REFRESH MATERIALIZED VIEW%graph\\_%' AND pid <> pg_backend_pid()`,
      );
      mostSeen = Math.max(mostSeen, rows[0].n);
      await new Promise((resolve) => setTimeout(resolve, 15));
    }
  })();
  try {
    return { result: await work, mostSeen };
  } finally {
    done = true;
    await watching;
  }
}

const serverNow = async (): Promise<Date> => new Date((await db.query('SELECT clock_timestamp() AS now'))[0].now);

function expectDependencyOrder(runs: readonly Run[]) {
  const byView = new Map(runs.map((run) => [run.view, run]));
  for (const [view, upstream] of Object.entries(UPSTREAM)) {
    const run = byView.get(view);
    if (!run) continue;
    for (const dependency of upstream) {
      const before = byView.get(dependency);
      if (before)
        expect({ view, startedAfter: dependency, ok: run.started >= before.finished }).toEqual({
          view,
          startedAfter: dependency,
          ok: true,
        });
    }
  }
}

describe('refreshing a view with its dependencies, as a graph', () => {
  it('refreshes the upstream materialized views first, independent branches two at a time by default, concurrently passed down', async () => {
    const app = await apps.boot({ entities: GRAPH });
    const since = await serverNow();
    const { result, mostSeen } = await watchRefreshes(
      app.get(ViewRefreshService).refresh(GraphTop, { withDependencies: true, concurrently: true }),
    );
    expect(result.map((each) => each.view)).toEqual([
      'public.graph_a',
      'public.graph_b',
      'public.graph_c',
      'public.graph_d',
      'public.graph_e',
      'public.graph_top',
    ]);
    expect(result.every((each) => each.concurrently)).toBe(true);
    const runs = await recordedSince(since);
    expect(runs.map((run) => run.view).sort()).toEqual(result.map((each) => each.view));
    expect(runs.every((run) => run.concurrent)).toBe(true);
    expectDependencyOrder(runs);
    // Each refresh takes a quarter of a second or more, and a and b start together: two ran at once, never three.
    expect(mostAtOnce(runs)).toBe(2);
    expect(mostSeen).toBeLessThanOrEqual(2);
  });

  it('never runs more than refreshConcurrency at once, and as many as it allows where branches are independent', async () => {
    const app = await apps.boot({ entities: GRAPH, refreshConcurrency: 3 });
    const since = await serverNow();
    const { mostSeen } = await watchRefreshes(app.get(ViewRefreshService).refreshAll());
    const runs = await recordedSince(since);
    expect(runs).toHaveLength(6);
    expectDependencyOrder(runs);
    expect(mostAtOnce(runs)).toBe(3); // a, b and c
    expect(mostSeen).toBeLessThanOrEqual(3);
  });

  it('with refreshConcurrency 1, refreshes one at a time, in dependency order', async () => {
    const app = await apps.boot({ entities: GRAPH, refreshConcurrency: 1 });
    const since = await serverNow();
    await app.get(ViewRefreshService).refresh(GraphTop, { withDependencies: true });
    const runs = await recordedSince(since);
    expect(runs.map((run) => run.view)).toEqual([
      'public.graph_a',
      'public.graph_b',
      'public.graph_c',
      'public.graph_d',
      'public.graph_e',
      'public.graph_top',
    ]);
    expect(mostAtOnce(runs)).toBe(1);
  });

  it('refreshes dependents after the view, in parallel where they do not read each other', async () => {
    const app = await apps.boot({ entities: GRAPH });
    const since = await serverNow();
    const result = await app.get(ViewRefreshService).refresh(GraphC, { withDependents: true });
    expect(result.map((each) => each.view)).toEqual(['public.graph_c', 'public.graph_e', 'public.graph_top']);
    expectDependencyOrder(await recordedSince(since));
  });

  it('stops at the first failure of a chain, and in refreshAll refreshes every branch the failure does not reach', async () => {
    const app = await apps.boot({ entities: [...GRAPH, GraphFragile, GraphAfterFragile] });
    await db.query('INSERT INTO fragile_source VALUES (1), (1)'); // duplicates under graph_fragile's unique key
    try {
      const views = app.get(ViewRefreshService);
      await expect(views.refresh(GraphAfterFragile, { withDependencies: true })).rejects.toThrow(/Refresh of public.graph_fragile failed/);
      const since = await serverNow();
      const failure = await views.refreshAll({ concurrently: false }).catch((error: unknown) => error);
      expect(failure).toBeInstanceOf(PgViewsRefreshAllError);
      const { results, failures } = failure as PgViewsRefreshAllError;
      expect(failures.map(({ view, blockedBy }) => ({ view, blockedBy }))).toEqual([
        { view: 'public.graph_fragile', blockedBy: undefined },
        { view: 'public.graph_after_fragile', blockedBy: 'public.graph_fragile' },
      ]);
      expect(results.map((each) => each.view)).toEqual([
        'public.graph_a',
        'public.graph_b',
        'public.graph_c',
        'public.graph_d',
        'public.graph_e',
        'public.graph_top',
      ]);
      expect((await recordedSince(since)).map((run) => run.view).sort()).toEqual(results.map((each) => each.view));
    } finally {
      await db.query('DELETE FROM fragile_source');
    }
  });

  it('skips the views of a chain whose sources did not change, without passing the skip on', async () => {
    const app = await apps.boot({ entities: [SkipA, SkipB, SkipTop], schedules: false });
    const views = app.get(ViewRefreshService);
    const outcome = (results: { view: string; skipped?: string }[]) =>
      results.map((each) => `${each.view}: ${each.skipped ?? 'refreshed'}`);
    expect(outcome(await views.refresh(SkipTop, { withDependencies: true }))).toEqual([
      'public.skip_a: refreshed', // no tracked refresh recorded yet
      'public.skip_b: refreshed',
      'public.skip_top: refreshed',
    ]);
    expect(outcome(await views.refresh(SkipTop, { withDependencies: true }))).toEqual([
      'public.skip_a: unchanged',
      'public.skip_b: unchanged',
      'public.skip_top: refreshed', // the view asked for follows its own options (whenChanged: false by default)
    ]);
    await db.query('INSERT INTO skip_source_1 VALUES (1)');
    expect(outcome(await views.refresh(SkipTop, { withDependencies: true, whenChanged: true }))).toEqual([
      'public.skip_a: refreshed',
      'public.skip_b: unchanged',
      'public.skip_top: refreshed',
    ]);
    expect(outcome(await views.refresh(SkipB, { withDependents: true, whenChanged: true }))).toEqual([
      'public.skip_b: unchanged',
      'public.skip_top: unchanged', // not refreshed because skip_b was looked at: nothing it reads changed
    ]);
    expect(outcome(await views.refresh(SkipTop, { withDependencies: true, whenChanged: false }))).toEqual([
      'public.skip_a: refreshed',
      'public.skip_b: refreshed',
      'public.skip_top: refreshed',
    ]);
  });

  it('refreshes a scheduled chain one view at a time, in dependency order', async () => {
    const app = await apps.boot({ entities: [...GRAPH, GraphScheduledTop], imports: [ScheduleModule.forRoot()] });
    const scheduled = async () =>
      (
        await db.query(
          `SELECT tick, count(*)::int AS n FROM pgviews_refresh_history WHERE source = 'schedule' GROUP BY tick HAVING count(*) = 6`,
        )
      ).length > 0;
    await waitFor(scheduled, 'a tick that refreshed the whole chain', 20_000, 100);
    await app.close();
    const [{ tick }] = await db.query(
      `SELECT tick FROM pgviews_refresh_history WHERE source = 'schedule' GROUP BY tick HAVING count(*) = 6 ORDER BY tick LIMIT 1`,
    );
    const runs = (
      await db.query(
        `SELECT view_schema || '.' || view_name AS view, 1000 * extract(epoch FROM started_at) AS started,
           1000 * extract(epoch FROM finished_at) AS finished, concurrent
         FROM pgviews_refresh_history WHERE source = 'schedule' AND tick = $1 ORDER BY started_at`,
        [tick],
      )
    ).map((row) => ({ view: row.view, started: Number(row.started), finished: Number(row.finished), concurrent: row.concurrent }));
    expect(runs.map((run) => run.view)).toEqual([
      'public.graph_a',
      'public.graph_b',
      'public.graph_c',
      'public.graph_d',
      'public.graph_e',
      'public.graph_scheduled_top',
    ]);
    expect(mostAtOnce(runs)).toBe(1);
  });
});
