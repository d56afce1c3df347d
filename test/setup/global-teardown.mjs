// Jest global teardown: stops the embedded PostgreSQL that global setup started, removing its data.
export default async function globalTeardown() {
  const embedded = globalThis.__PGVIEWS_EMBEDDED__;
  if (!embedded) return;
  delete globalThis.__PGVIEWS_EMBEDDED__;
  await embedded.stop();
}
