import { describe, expect, it } from '@jest/globals';
import { runGraph, type GraphNode } from '../../lib/refresh/refresh-graph.js';

/** A run whose nodes each wait for the test to finish them, recording what starts while what else runs. */
function controlledRun() {
  const started: string[] = [];
  const running = new Set<string>();
  let maxRunning = 0;
  const finishers = new Map<string, { ok: () => void; fail: (error: Error) => void }>();
  const run = (id: string) =>
    new Promise<string>((resolve, reject) => {
      started.push(id);
      running.add(id);
      maxRunning = Math.max(maxRunning, running.size);
      const done = () => running.delete(id);
      finishers.set(id, {
        ok: () => (done(), resolve(`${id}!`)),
        fail: (error) => (done(), reject(error)),
      });
    });
  const tick = () => new Promise((resolve) => setImmediate(resolve));
  return {
    run,
    started,
    running,
    get maxRunning() {
      return maxRunning;
    },
    async finish(id: string, error?: Error) {
      await tick();
      const finisher = finishers.get(id);
      if (!finisher) throw new Error(`${id} has not started`);
      if (error) finisher.fail(error);
      else finisher.ok();
      await tick();
    },
    tick,
  };
}

/**
 *   a   b      c
 *   |\ /       |
 *   | d        e
 *    \|
 *     f
 */
const DIAMOND: GraphNode[] = [
  { id: 'a', after: [] },
  { id: 'b', after: [] },
  { id: 'c', after: [] },
  { id: 'd', after: ['a', 'b'] },
  { id: 'e', after: ['c'] },
  { id: 'f', after: ['a', 'd'] },
];

describe('runGraph', () => {
  it('with a concurrency of 1, runs the nodes one at a time, in list order', async () => {
    const order: string[] = [];
    const outcomes = await runGraph(
      DIAMOND,
      async (id) => {
        order.push(id);
        await new Promise((resolve) => setTimeout(resolve, 1));
        return id;
      },
      { concurrency: 1 },
    );
    expect(order).toEqual(['a', 'b', 'c', 'd', 'e', 'f']);
    expect(outcomes.map((outcome) => outcome.status)).toEqual(['done', 'done', 'done', 'done', 'done', 'done']);
  });

  it('starts a node only after every node it runs after, and never runs more than the limit at once', async () => {
    const control = controlledRun();
    const result = runGraph(DIAMOND, control.run, { concurrency: 2 });
    await control.tick();
    expect([...control.running]).toEqual(['a', 'b']);
    await control.finish('a');
    expect([...control.running]).toEqual(['b', 'c']); // d waits for b; f for d
    await control.finish('c');
    expect([...control.running]).toEqual(['b', 'e']);
    await control.finish('b');
    expect([...control.running]).toEqual(['e', 'd']);
    await control.finish('d');
    expect([...control.running]).toEqual(['e', 'f']);
    await control.finish('f');
    await control.finish('e');
    const outcomes = await result;
    expect(control.started).toEqual(['a', 'b', 'c', 'e', 'd', 'f']);
    expect(control.maxRunning).toBe(2);
    expect(outcomes.map((outcome) => outcome.id)).toEqual(['a', 'b', 'c', 'd', 'e', 'f']); // list order, not finishing order
    expect(outcomes[5]).toEqual({ id: 'f', status: 'done', result: 'f!' });
  });

  it('runs every independent node at once when the limit allows', async () => {
    const control = controlledRun();
    const result = runGraph(DIAMOND, control.run, { concurrency: 10 });
    await control.tick();
    expect([...control.running]).toEqual(['a', 'b', 'c']);
    for (const id of ['a', 'b', 'c', 'd', 'e', 'f']) await control.finish(id);
    await result;
    expect(control.maxRunning).toBe(3);
  });

  it('leaves out the nodes that run after a failed one, and runs the others', async () => {
    const control = controlledRun();
    const result = runGraph(DIAMOND, control.run, { concurrency: 2 });
    const boom = new Error('boom');
    await control.finish('a', boom);
    await control.finish('b');
    await control.finish('c');
    await control.finish('e');
    expect(await result).toEqual([
      { id: 'a', status: 'failed', error: boom },
      { id: 'b', status: 'done', result: 'b!' },
      { id: 'c', status: 'done', result: 'c!' },
      { id: 'd', status: 'blocked', blockedBy: 'a' },
      { id: 'e', status: 'done', result: 'e!' },
      { id: 'f', status: 'blocked', blockedBy: 'a' },
    ]);
  });

  it('with stopOnFailure, starts nothing after a failure and lets what runs finish', async () => {
    const control = controlledRun();
    const result = runGraph(DIAMOND, control.run, { concurrency: 2, stopOnFailure: true });
    await control.finish('a', new Error('boom'));
    expect([...control.running]).toEqual(['b']);
    await control.finish('b');
    const outcomes = await result;
    expect(outcomes.map((outcome) => outcome.status)).toEqual(['failed', 'done', 'cancelled', 'blocked', 'cancelled', 'blocked']);
    expect(control.started).toEqual(['a', 'b']);
  });

  it('leaves out the nodes after one whose result holds its dependents', async () => {
    const outcomes = await runGraph(DIAMOND, async (id) => id, { concurrency: 2, holdsDependents: (result) => result === 'b' });
    expect(outcomes.filter((outcome) => outcome.status === 'blocked')).toEqual([
      { id: 'd', status: 'blocked', blockedBy: 'b' },
      { id: 'f', status: 'blocked', blockedBy: 'd' },
    ]);
  });

  it('takes a node that throws synchronously as failed, ignores dependencies outside the run, and ends on an empty run', async () => {
    const outcomes = await runGraph(
      [
        { id: 'x', after: ['elsewhere'] },
        { id: 'y', after: ['x'] },
      ],
      (id) => {
        if (id === 'x') throw new Error('sync');
        return Promise.resolve(id);
      },
      { concurrency: 2 },
    );
    expect(outcomes.map((outcome) => outcome.status)).toEqual(['failed', 'blocked']);
    expect(await runGraph([], async () => 1, { concurrency: 2 })).toEqual([]);
  });

  it('does not hang on a cycle: its nodes are blocked', async () => {
    const outcomes = await runGraph(
      [
        { id: 'p', after: ['q'] },
        { id: 'q', after: ['p'] },
      ],
      async (id) => id,
      { concurrency: 2 },
    );
    expect(outcomes).toEqual([
      { id: 'p', status: 'blocked', blockedBy: 'q' },
      { id: 'q', status: 'blocked', blockedBy: 'p' },
    ]);
  });
});
