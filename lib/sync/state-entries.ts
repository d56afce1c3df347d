import { qualifiedName } from '../sql/identifiers.js';
import type { StateEntry } from '../state/state-table.js';
import type { SyncAnalysis } from './sync.analysis.js';

/**
 * What a sync records in the state table once it is done: every declared view it leaves as
 * declared (not those it keeps at another definition), their declared indexes, and the refresh
 * history table. OIDs and fingerprints are read by the recording statement itself.
 */
export function stateEntries(analysis: SyncAnalysis): StateEntry[] {
  const entries: StateEntry[] = [];
  for (const { target, strategy } of analysis.views) {
    if (strategy === 'keep') continue;
    entries.push({ kind: target.kind, qualified: qualifiedName(target.schema, target.name), hash: target.hash });
    for (const index of target.indexes)
      entries.push({ kind: 'index', qualified: qualifiedName(target.schema, index.name), hash: index.hash });
  }
  if (analysis.history)
    entries.push({ kind: 'history', qualified: qualifiedName(analysis.history.schema, analysis.history.name), hash: 'history' });
  return entries;
}
