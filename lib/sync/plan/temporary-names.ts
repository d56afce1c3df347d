import { fitIdentifier } from '../../sql/identifiers.js';
import type { NameContext } from '../plan-names.js';
import type { TemporaryName } from '../sync-plan.js';

/**
 * Names for objects that exist only during a sync (an old object renamed aside, a new one or an
 * index built beside the old one): unique within the plan, within PostgreSQL's length limit, and,
 * once the catalog's names are known, not taken in the schema. Each is listed with what it stands
 * for, so that an error that mentions it can say.
 */
export class TemporaryNames {
  readonly given: TemporaryName[] = [];
  private sequence = 0;

  constructor(private readonly catalog?: Pick<NameContext, 'isTaken'>) {}

  pick(schema: string, name: string, role: 'new' | 'old', standsFor: string): string {
    let candidate: string;
    do {
      this.sequence += 1;
      candidate = fitIdentifier(name, `_pgv_${role}${this.sequence}`);
    } while (this.catalog?.isTaken(schema, candidate));
    this.given.push({ name: candidate, role, standsFor });
    return candidate;
  }
}
