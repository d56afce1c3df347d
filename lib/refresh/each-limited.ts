/**
 * Runs `work` for every item, at most `limit` at once, in the order given, and waits for all of them.
 * A failing item does not stop the others: `work` is expected to handle its own errors.
 */
export async function eachLimited<T>(items: readonly T[], limit: number, work: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const lane = async () => {
    while (next < items.length) {
      const item = items[next++];
      await work(item);
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(limit, items.length)) }, lane));
}
