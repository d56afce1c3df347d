import { defineEntity, MikroORM, p } from '@mikro-orm/core';
import { Migration, Migrator } from '@mikro-orm/migrations';
import { MaterializedView, View, withPgViews } from '../../lib/index.js';
import type { BenchDatabase, BenchServer } from '../support/database.js';
import { libraryApp, ormOptions } from '../support/library-app.js';
import type { CaseResult } from '../support/report.js';
import type { Scale } from '../support/scale.js';
import { median, ms, ratio, repeat, time } from '../support/stats.js';

const TABLES = (rows: number) => `
  CREATE TABLE sale (id int PRIMARY KEY, item text NOT NULL, amount int NOT NULL, note text);
  INSERT INTO sale SELECT g, 'item ' || (g % 1000), g % 997, 'note ' || g FROM generate_series(1, ${rows}) g;
  CREATE TABLE shop (id int PRIMARY KEY, name text NOT NULL);
  INSERT INTO shop SELECT g, 'shop ' || g FROM generate_series(1, 100) g;
  ANALYZE sale; ANALYZE shop;`;

const AMOUNTS = 'SELECT id, item, amount, note FROM sale';
const TOTALS = 'SELECT id, item, amount FROM sale';
const REPORT = 'SELECT item, sum(amount) AS total FROM sale_totals GROUP BY item';

/** What a DBA added on top of the declared views, in every database. */
const DBA = `
  CREATE VIEW sale_report AS ${REPORT};
  GRANT SELECT ON sale_amounts TO PUBLIC; GRANT SELECT (id, item) ON sale_totals TO PUBLIC; GRANT SELECT ON sale_report TO PUBLIC;
  COMMENT ON VIEW sale_report IS 'totals per item'; COMMENT ON COLUMN sale_totals.amount IS 'in cents';
  CREATE INDEX sale_totals_amount_dba ON sale_totals (amount);`;

function entities() {
  const SaleAmounts = defineEntity({ name: 'SaleAmounts', tableName: 'sale_amounts', properties: { id: p.integer().primary() } });
  View({ sql: AMOUNTS, comment: 'sales' })(SaleAmounts);
  const SaleTotals = defineEntity({ name: 'SaleTotals', tableName: 'sale_totals', properties: { id: p.integer().primary() } });
  MaterializedView({ sql: TOTALS, uniqueKey: ['id'], indexes: [{ columns: ['item'] }] })(SaleTotals);
  return [SaleAmounts, SaleTotals];
}

const alterAmount = (type: 'bigint' | 'int') => `alter table "sale" alter column "amount" type ${type} using ("amount"::${type});`;

/** The migration as MikroORM's migration:create writes it: the ALTER alone (withPgViews() takes care of the views). */
class AmountType extends Migration {
  override up(): void {
    this.addSql(alterAmount('bigint'));
  }
  override down(): void {
    this.addSql(alterAmount('int'));
  }
}

/** What users write today: the views dropped and recreated by hand around the ALTER, with their grants, comments and indexes. */
function byHand(type: 'bigint' | 'int'): string[] {
  return [
    'DROP VIEW sale_report',
    'DROP VIEW sale_amounts',
    'DROP MATERIALIZED VIEW sale_totals',
    alterAmount(type),
    `CREATE VIEW sale_amounts AS ${AMOUNTS}`,
    `COMMENT ON VIEW sale_amounts IS 'sales'`,
    'GRANT SELECT ON sale_amounts TO PUBLIC',
    `CREATE MATERIALIZED VIEW sale_totals AS ${TOTALS} WITH DATA`,
    'CREATE UNIQUE INDEX sale_totals_id_unique ON sale_totals (id)',
    'CREATE INDEX sale_totals_item_index ON sale_totals (item)',
    'CREATE INDEX sale_totals_amount_dba ON sale_totals (amount)',
    'GRANT SELECT (id, item) ON sale_totals TO PUBLIC',
    `COMMENT ON COLUMN sale_totals.amount IS 'in cents'`,
    `CREATE VIEW sale_report AS ${REPORT}`,
    `COMMENT ON VIEW sale_report IS 'totals per item'`,
    'GRANT SELECT ON sale_report TO PUBLIC',
  ];
}

class AmountTypeByHand extends Migration {
  override up(): void {
    for (const statement of byHand('bigint')) this.addSql(statement);
  }
  override down(): void {
    for (const statement of byHand('int')) this.addSql(statement);
  }
}

interface Approach {
  readonly label: string;
  readonly db: BenchDatabase;
  readonly orm: MikroORM;
  readonly times: number[];
  /** What the last migration sent: each query's text and the time the server took, as MikroORM logs them. */
  readonly statements: { sql: string; ms: number }[];
}

/**
 * The library's own statements among those a migration sent: savepoints, catalog reads, the sync lock
 * and its settings, the state record, and the first attempt of the ALTER that PostgreSQL refused.
 */
const LIBRARY_STATEMENT =
  /pgviews_statement|pg_catalog\.|pgviews_state|advisory|application_name|lock_timeout|WITH RECURSIVE|json_build_object/;

function libraryShare(statements: readonly { sql: string; ms: number }[]): { count: number; ms: number } {
  const alters = statements.filter((statement) => statement.sql.startsWith('alter table'));
  const own = [...statements.filter((statement) => LIBRARY_STATEMENT.test(statement.sql)), ...alters.slice(0, alters.length - 1)];
  return { count: own.length, ms: own.reduce((sum, statement) => sum + statement.ms, 0) };
}

/** `unrelated` plain views over `shop`, which the migration does not touch. */
const unrelatedViews = (count: number) =>
  Array.from({ length: count }, (_, n) => `CREATE VIEW shop_view_${n} AS SELECT id, name || ${n} AS name FROM shop;`).join('\n');

async function approach(server: BenchServer, scale: Scale, label: string, kind: 'library' | 'by hand', unrelated = 0): Promise<Approach> {
  const db = await server.createDatabase();
  await db.query(TABLES(scale.rows) + unrelatedViews(unrelated));
  const migrations = { silent: true, snapshot: false };
  const statements: { sql: string; ms: number }[] = [];
  const logger = (message: string) => {
    // eslint-disable-next-line no-control-regex
    const plain = message.replace(/\u001b\[[0-9;]*m/g, '');
    const took = /^\[query\] ([\s\S]*?) \[took (\d+(?:\.\d+)?) ms/.exec(plain);
    if (took) statements.push({ sql: took[1].trim(), ms: Number(took[2]) });
  };
  let orm: MikroORM;
  if (kind === 'library') {
    const { app } = await libraryApp(db.url, entities());
    await app.close();
    await db.query(DBA);
    orm = await MikroORM.init(
      withPgViews({
        ...ormOptions(db.url, entities()),
        logger,
        extensions: [Migrator],
        migrations: { ...migrations, migrationsList: [{ name: 'Migration1_amount', class: AmountType }] },
      }),
    );
  } else {
    await db.query(`CREATE VIEW sale_amounts AS ${AMOUNTS}; COMMENT ON VIEW sale_amounts IS 'sales';
      CREATE MATERIALIZED VIEW sale_totals AS ${TOTALS}; CREATE UNIQUE INDEX sale_totals_id_unique ON sale_totals (id);
      CREATE INDEX sale_totals_item_index ON sale_totals (item); ${DBA}`);
    orm = await MikroORM.init({
      ...ormOptions(db.url, entities()),
      logger,
      extensions: [Migrator],
      migrations: { ...migrations, migrationsList: [{ name: 'Migration1_amount', class: AmountTypeByHand }] },
    });
  }
  await db.query('VACUUM ANALYZE');
  return { label, db, orm, times: [], statements };
}

/**
 * Case 6: a migration that changes the type of a column read by a plain view, a materialized view
 * over the scale's rows (with a unique key, a declared and a DBA index) and a hand-made view reading
 * it: through withPgViews(), against the same migration written by hand (the views dropped and
 * recreated around the ALTER), and through withPgViews() again with unrelated views in the database.
 */
export async function tableMigration(server: BenchServer, scale: Scale): Promise<CaseResult> {
  const approaches = [
    await approach(server, scale, 'by hand: views dropped and recreated in the migration (the floor)', 'by hand'),
    await approach(server, scale, 'withPgViews(): the ALTER alone, views detached and brought back', 'library'),
    await approach(server, scale, `withPgViews(), with ${scale.views} unrelated views in the database`, 'library', scale.views),
  ];
  try {
    // Twice the scale's runs: each takes seconds, and the library's own work is a small part of it.
    const runs = scale.runs * 2;
    const shares: { count: number; ms: number }[] = [];
    await repeat(runs + 1, async (run) => {
      // Alternate the order, so that none always meets a warm cache; each run migrates up (timed) and back down.
      const order = run % 2 ? [...approaches].reverse() : approaches;
      for (const each of order) {
        each.statements.length = 0;
        each.times.push(await time(() => each.orm.migrator.up()));
        if (each === approaches[1]) shares.push(libraryShare(each.statements));
        await each.orm.migrator.down();
      }
    });
    const share = { count: median(shares.map((one) => one.count)), ms: median(shares.map((one) => one.ms)) };
    const [floor, library, unrelated] = approaches.map((each) => median(each.times.slice(1))); // one warm-up run
    return {
      title: `6. Table migration under views (materialized view over ${scale.rows.toLocaleString('en')} rows)`,
      description:
        `Median of ${runs} runs after a warm-up run, alternating order; each run is \`migrator.up()\` of one migration ` +
        '(ALTER COLUMN amount TYPE bigint), then an untimed down(). Read by a plain view, a materialized view with a unique key, ' +
        'a declared and a DBA index, and a hand-made view over it, with table and column grants and comments. Of the ' +
        `library's migration, its own statements (savepoints, catalog reads, the sync lock, the state record, the refused first ` +
        `attempt of the ALTER) were ${share.count} round trips taking ${ms(share.ms)} ms of server time (median, as MikroORM logs ` +
        'them, in whole milliseconds): what the difference between the first two rows should be, the rest is noise.',
      columns: ['migration', 'median ms', 'ratio to by hand'],
      rows: [
        [approaches[0].label, ms(floor), '1.00x'],
        [approaches[1].label, ms(library), ratio(library, floor)],
        [approaches[2].label, ms(unrelated), ratio(unrelated, floor)],
      ],
      target: { text: 'within 1.1x of the migration written by hand', met: library / floor <= 1.1 },
    };
  } finally {
    for (const each of approaches) {
      await each.orm.close();
      await each.db.drop();
    }
  }
}
