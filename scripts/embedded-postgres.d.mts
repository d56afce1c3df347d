/** Types of embedded-postgres.mjs, for the TypeScript that imports it (benchmarks). */
export declare function freePort(): Promise<number>;
export declare function postgresBinary(): Promise<string>;
export declare function startEmbeddedPostgres(options?: {
  databaseDir?: string;
  port?: number;
  log?: (message: unknown) => void;
}): Promise<{ url: string; port: number; dir: string; stop: () => Promise<void> }>;
