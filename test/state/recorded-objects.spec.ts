import { describe, expect, it } from '@jest/globals';
import { oidHolders, type ObjectRow } from '../../lib/catalog/snapshot.query.js';
import {
  parseState,
  recordedObjects,
  stateRows,
  type OidHolder,
  type StateColumns,
  type StateGroup,
  type StateRow,
} from '../../lib/state/state-table.js';

const MAJOR = 18;
const APPLIED = new Date('2026-01-02T03:04:05Z');
const holders = new Map<number, OidHolder>([
  [100, { schema: 'public', name: 'sales', fingerprint: '900' }],
  [200, { schema: 'public', name: 'sales_key', fingerprint: null }],
]);
const row = (
  oid: number | null,
  name: string | null,
  fingerprint: string | null,
  major: number | null = MAJOR,
  kind: StateRow[1] = 'view',
): StateRow => [oid, kind, `hash-${oid}`, 'public', name, fingerprint, major];
const read = (rows: StateRow[]) => recordedObjects(rows, holders, MAJOR, 'r1', APPLIED).map(({ oid, asBuilt }) => ({ oid, asBuilt }));

describe('recordedObjects (which state rows still stand for the object holding their OID)', () => {
  it('keeps a row whose object has its recorded name, as built while its stored query is the recorded one', () => {
    expect(recordedObjects([row(100, 'sales', '900')], holders, MAJOR, 'r1', APPLIED)).toEqual([
      { oid: 100, kind: 'view', hash: 'hash-100', asBuilt: true, release: 'r1', appliedAt: APPLIED },
    ]);
    expect(read([row(100, 'sales', '899')])).toEqual([{ oid: 100, asBuilt: false }]); // edited by hand in place
  });

  it('keeps a row whose object was renamed by hand while its stored query is the recorded one, of the same server major', () => {
    expect(read([row(100, 'old_name', '900')])).toEqual([{ oid: 100, asBuilt: true }]);
    expect(read([row(100, 'old_name', '900', MAJOR - 1)])).toEqual([]);
    expect(read([row(100, 'old_name', '899')])).toEqual([]); // another object under a reused OID, or renamed and edited
  });

  it('takes a fingerprint of another server major, or none, as no sign of an edit', () => {
    expect(read([row(100, 'sales', '1', MAJOR - 1), row(100, 'sales', null, null)])).toEqual([
      { oid: 100, asBuilt: true },
      { oid: 100, asBuilt: true },
    ]);
  });

  it('matches an index by its name in its table schema, and leaves out rows of OIDs the snapshot does not hold', () => {
    expect(
      read([
        row(200, 'sales_key', null, null, 'index'),
        row(200, 'other_key', null, null, 'index'),
        row(300, 'gone', '5'),
        row(null, null, null),
      ]),
    ).toEqual([{ oid: 200, asBuilt: true }]);
  });
});

/** `rows` as the state query sends them: one array per field. */
const columns = (rows: StateRow[]) => row(null, null, null).map((_, field) => rows.map((r) => r[field])) as unknown as StateColumns;

describe('stateRows', () => {
  it('gives back the rows of their fields, in order', () => {
    const rows = [row(100, 'sales', '900'), row(200, 'sales_key', null, null, 'index')];
    expect(stateRows(columns(rows))).toEqual(rows);
  });
});

describe('parseState', () => {
  it('is stale when a fingerprint was taken by another server major, even on a row nothing holds', () => {
    const raw = (major: number) => ({
      objects: [['r1', APPLIED.toISOString(), columns([row(300, 'gone', '5', major)])] as StateGroup],
      ours: null,
      latest: null,
    });
    expect(parseState(raw(MAJOR), holders, MAJOR).stale).toBe(false);
    expect(parseState(raw(MAJOR - 1), holders, MAJOR).stale).toBe(true);
    expect(parseState(raw(MAJOR), holders, MAJOR).objects).toEqual([]);
  });
});

describe('oidHolders', () => {
  it('holds each object at its OID with its fingerprint, and each of its indexes in its schema without one', () => {
    const object: ObjectRow = [
      100,
      'reporting',
      'sales',
      'm',
      null,
      null,
      true,
      null,
      [['sales_key', null, true, 200, true]],
      null,
      true,
      '900',
    ];
    expect(oidHolders([object])).toEqual(
      new Map([
        [100, { schema: 'reporting', name: 'sales', fingerprint: '900' }],
        [200, { schema: 'reporting', name: 'sales_key', fingerprint: null }],
      ]),
    );
  });
});
