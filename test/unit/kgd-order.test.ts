/**
 * KGD's decisions take effect in KGD's order, not in arrival order (DESIGN.md §4, Delivery; issue
 * 19). The invariant: whatever the order in which a set of decisions arrives — shuffled, repeated,
 * an old file loaded again — the declaration index ends the same, and it is the latest decision of
 * each application by `decidedAt` (src/domain/kgd-order.ts).
 */
import { join } from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { compareDecisions, latestOf } from '../../src/domain/kgd-order.js';
import type { DeclarationEntry, DeclarationStatus } from '../../src/domain/types.js';
import { type ApplicationDecision, applyApplicationDecision } from '../../src/store/declarations.js';
import { openStore, type Store } from '../../src/store/store.js';
import { tempDir } from '../support/tmp.js';

const dir = tempDir();
let opened = 0;
const BODIES = ['35209900000011', '35209900000029', '35209900000037', '35209900000045'];
const APPLICATIONS = ['KZ-A', 'KZ-B'];

const entry = (
  applicationId: string,
  status: DeclarationStatus,
  decidedAt: string | null,
  extra: Partial<DeclarationEntry> = {},
): DeclarationEntry => ({ applicationId, procedure: '40', status, hsCode: null, decidedAt, ...extra });

async function withStore<T>(run: (store: Store) => Promise<T>): Promise<T> {
  const store = openStore({ dataDir: join(dir, `store-${opened++}`) });
  try {
    return await run(store);
  } finally {
    await store.close();
  }
}

async function applyAll(store: Store, decisions: readonly ApplicationDecision[]): Promise<void> {
  // One transaction per decision, as messages arrive one by one.
  for (const decision of decisions)
    await store.env.transaction(() => {
      applyApplicationDecision(store, decision);
    });
}

/** The whole declaration index as plain data. */
function indexOf(store: Store) {
  return {
    declarations: [...store.declarations.getRange()].map(({ key, value }) => [
      key,
      [...value].sort((a, b) => a.applicationId.localeCompare(b.applicationId)),
    ]),
    applications: [...store.applications.getRange()].map(({ key, value }) => [key, value]),
    listed: APPLICATIONS.map((id) => [id, [...store.applicationImeis.getValues(id)]]),
  };
}

const decisionArbitrary: fc.Arbitrary<ApplicationDecision> = fc
  .record({
    applicationId: fc.constantFrom(...APPLICATIONS),
    status: fc.constantFrom<DeclarationStatus>('registered', 'released', 'refused', 'revoked'),
    decidedAt: fc.constantFrom(
      null,
      '2026-10-10T09:00:00.000Z',
      '2026-11-20T09:00:00.000Z',
      '2026-12-01T00:00:00.000Z',
    ),
    procedure: fc.constantFrom('40', '80', null),
    hsCode: fc.constantFrom(null, '8517130000'),
    grounds: fc.constantFrom(undefined, 'documents forged'),
    bodies: fc.subarray(BODIES),
  })
  .map(({ applicationId, status, decidedAt, procedure, hsCode, grounds, bodies }) => {
    const decided = entry(applicationId, status, decidedAt, {
      procedure,
      hsCode,
      ...(grounds === undefined ? {} : { grounds }),
    });
    // A refusal or revocation naming no IMEI concerns the whole application.
    const whole = bodies.length === 0 && (status === 'refused' || status === 'revoked');
    return whole ? { entry: decided, bodies: [], whole } : { entry: decided, bodies };
  });

describe("KGD's order (src/domain/kgd-order.ts)", () => {
  it('is a total order: antisymmetric, and 0 only for the same decision', () => {
    const facts = decisionArbitrary.map((d) => d.entry);
    fc.assert(
      fc.property(facts, facts, (a, b) => {
        // Antisymmetric: a before b exactly when b after a (the sum of the signs is zero).
        expect(Math.sign(compareDecisions(a, b)) + Math.sign(compareDecisions(b, a))).toBe(0);
        if (compareDecisions(a, b) === 0)
          expect({ ...a, applicationId: '' }).toEqual({ ...b, applicationId: '' });
      }),
    );
  });

  it('a decision outranks an undecided status, a timed one an untimed one, then the later time, then the withdrawal', () => {
    const registeredLate = entry('A', 'registered', '2026-12-01T00:00:00.000Z');
    const releasedEarly = entry('A', 'released', '2026-10-10T09:00:00.000Z');
    expect(latestOf(releasedEarly, registeredLate)).toBe(releasedEarly);
    const revokedUntimed = entry('A', 'revoked', null);
    expect(latestOf(releasedEarly, revokedUntimed)).toBe(releasedEarly);
    const revokedLater = entry('A', 'revoked', '2026-11-20T09:00:00.000Z');
    expect(latestOf(revokedLater, releasedEarly)).toBe(revokedLater);
    const releasedSameTime = entry('A', 'released', '2026-11-20T09:00:00.000Z');
    expect(latestOf(releasedSameTime, revokedLater)).toBe(revokedLater);
    expect(latestOf(entry('A', 'released', null), entry('A', 'refused', null)).status).toBe('refused');
  });
});

describe('the declaration index is the same whatever the arrival order', () => {
  it('shuffled, repeated and reloaded decisions end in the same index (property)', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(decisionArbitrary, { minLength: 1, maxLength: 8 }).chain((decisions) =>
          fc.tuple(
            fc.constant(decisions),
            // The same decisions in another order, some of them twice (a file loaded again).
            fc
              .shuffledSubarray(decisions)
              .chain((again) =>
                fc.shuffledSubarray([...decisions, ...again], { minLength: decisions.length + again.length }),
              ),
          ),
        ),
        async ([inOrder, shuffled]) => {
          const first = await withStore(async (store) => {
            await applyAll(store, inOrder);
            return indexOf(store);
          });
          const second = await withStore(async (store) => {
            await applyAll(store, shuffled);
            return indexOf(store);
          });
          expect(second).toEqual(first);
        },
      ),
      { numRuns: 60 },
    );
  });

  it('found by the property (seed 450239647): an undecided row with an HS code does not reorder two untimed releases', async () => {
    // The application record once kept an HS code from an earlier decision; compared with the next
    // decision as if it were one, it let arrival order pick which release stood.
    const plain = { entry: entry('KZ-A', 'released', null), bodies: [] };
    const grounded = { entry: entry('KZ-A', 'released', null, { grounds: 'documents forged' }), bodies: [] };
    const undecided = { entry: entry('KZ-A', 'registered', null, { hsCode: '8517130000' }), bodies: [] };
    const first = await withStore(async (store) => {
      await applyAll(store, [plain, grounded, undecided]);
      return indexOf(store);
    });
    const second = await withStore(async (store) => {
      await applyAll(store, [plain, undecided, grounded]);
      return indexOf(store);
    });
    expect(second).toEqual(first);
  });

  it('a revocation dated 20 November, then a release dated 10 October: the application stays revoked', async () => {
    await withStore(async (store) => {
      const body = BODIES[0]!;
      await applyAll(store, [
        { entry: entry('KZ-1', 'revoked', '2026-11-20T09:00:00.000Z'), bodies: [body] },
        { entry: entry('KZ-1', 'released', '2026-10-10T09:00:00.000Z'), bodies: [body] },
      ]);
      expect(store.applications.get('KZ-1')).toMatchObject({ status: 'revoked' });
      expect(store.declarations.get(body)).toEqual([entry('KZ-1', 'revoked', '2026-11-20T09:00:00.000Z')]);
    });
  });

  it("October's file reloaded after November's revocation of the whole application changes nothing", async () => {
    await withStore(async (store) => {
      const october = {
        entry: entry('KZ-2', 'released', '2026-10-10T09:00:00.000Z'),
        bodies: BODIES.slice(0, 2),
      };
      const november = {
        entry: entry('KZ-2', 'revoked', '2026-11-20T09:00:00.000Z'),
        bodies: [],
        whole: true,
      };
      await applyAll(store, [october, november]);
      const before = indexOf(store);
      await store.env.transaction(() => {
        expect(applyApplicationDecision(store, october)).toEqual({ added: 0, changed: [] });
      });
      expect(indexOf(store)).toEqual(before);
      // An IMEI of the same October decision that arrives only now is revoked too: the
      // revocation named no IMEI, so it stands for every IMEI the application lists.
      await store.env.transaction(() => {
        applyApplicationDecision(store, { entry: october.entry, bodies: [BODIES[2]!] });
      });
      expect(store.declarations.get(BODIES[2]!)?.[0]).toMatchObject({ status: 'revoked' });
    });
  });

  it('a row without a time never overrides a timed decision; a timed one overrides an untimed one', async () => {
    await withStore(async (store) => {
      const body = BODIES[0]!;
      await applyAll(store, [
        { entry: entry('KZ-3', 'refused', '2026-11-01T09:00:00.000Z'), bodies: [body] },
        { entry: entry('KZ-3', 'released', null), bodies: [body] },
      ]);
      expect(store.declarations.get(body)?.[0]?.status).toBe('refused');
      await applyAll(store, [{ entry: entry('KZ-4', 'released', null), bodies: [body] }]);
      await applyAll(store, [
        { entry: entry('KZ-4', 'refused', '2026-11-01T09:00:00.000Z'), bodies: [body] },
      ]);
      expect(store.declarations.get(body)?.find((e) => e.applicationId === 'KZ-4')?.status).toBe('refused');
    });
  });

  it('reports as changed only the devices whose entry changed', async () => {
    await withStore(async (store) => {
      const release = {
        entry: entry('KZ-5', 'released', '2026-10-10T09:00:00.000Z'),
        bodies: BODIES.slice(0, 3),
      };
      await store.env.transaction(() => {
        expect(applyApplicationDecision(store, release).changed).toEqual(BODIES.slice(0, 3));
      });
      await store.env.transaction(() => {
        const older = {
          entry: entry('KZ-5', 'refused', '2026-09-01T09:00:00.000Z'),
          bodies: BODIES.slice(0, 3),
        };
        expect(applyApplicationDecision(store, older).changed).toEqual([]);
        const later = { entry: entry('KZ-5', 'refused', '2026-12-01T09:00:00.000Z'), bodies: [BODIES[1]!] };
        expect(applyApplicationDecision(store, later).changed).toEqual([BODIES[1]]);
      });
    });
  });
});
