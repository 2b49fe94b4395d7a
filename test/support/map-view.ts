/** An IndexView over plain maps, for testing the pure rules without LMDB. */
import type {
  ApplicationRecord,
  BlockEntry,
  DeclarationEntry,
  IndexView,
  LocalProductionRecord,
  OutcomeRecord,
  RegistryEntry,
  TacRecord,
} from '../../src/domain/types.js';
import { tacRecord } from './fixtures.js';

export class MapIndexView implements IndexView {
  readonly tacs = new Map<string, TacRecord>();
  readonly blocks = new Map<string, BlockEntry>();
  readonly decls = new Map<string, DeclarationEntry[]>();
  readonly apps = new Map<string, ApplicationRecord>();
  readonly local = new Map<string, LocalProductionRecord>();
  readonly registry = new Map<string, RegistryEntry>();
  readonly outcomes = new Map<string, OutcomeRecord>();

  tac = (key: string) => this.tacs.get(key);
  blocked = (body: string) => this.blocks.get(body);
  declarations = (body: string) => this.decls.get(body);
  application = (id: string) => this.apps.get(id);
  localProduction = (body: string) => this.local.get(body);
  registered = (body: string) => this.registry.get(body);
  outcome = (id: string) => this.outcomes.get(id);

  addTac(tac: string, overrides: Partial<TacRecord> = {}): this {
    this.tacs.set(tac, tacRecord(tac, { bands: 'GSM 900', allocationDate: '2014-09-01', ...overrides }));
    return this;
  }

  declare(body: string, entry: Partial<DeclarationEntry> & { applicationId: string }): this {
    // Keys in the order the loaders write them: stored shapes are order-sensitive.
    const full: DeclarationEntry = {
      applicationId: entry.applicationId,
      procedure: entry.procedure === undefined ? '40' : entry.procedure,
      status: entry.status ?? 'released',
      hsCode: entry.hsCode === undefined ? '8517130000' : entry.hsCode,
      decidedAt: entry.decidedAt === undefined ? '2026-11-20T09:00:00.000Z' : entry.decidedAt,
      ...(entry.grounds === undefined ? {} : { grounds: entry.grounds }),
    };
    this.decls.set(body, [...(this.decls.get(body) ?? []), full]);
    const app = this.apps.get(full.applicationId);
    this.apps.set(full.applicationId, {
      applicationId: full.applicationId,
      procedure: full.procedure,
      status: full.status,
      imeiCount: (app?.imeiCount ?? 0) + 1,
      hsCode: full.hsCode,
      decidedAt: full.decidedAt,
      ...(full.grounds === undefined ? {} : { grounds: full.grounds }),
    });
    return this;
  }
}
