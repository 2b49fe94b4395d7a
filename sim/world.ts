/**
 * One simulated cluster: two or three imeiflow instances — each the real TaskManager, tasks,
 * recovery, journal and batch decisions (test/support/pipeline-instance.ts) on its own LMDB store —
 * over one in-memory Kafka (test/support/memory-kafka.ts), with the group coordinator, the global
 * tables' KGD decisions and the inputs played by the scheduler (schedule.ts).
 *
 * What the in-memory Kafka models, from Kafka's documentation: per-partition order with an
 * idempotent producer and none across partitions ("Idempotent producer", KIP-98), log compaction
 * keeping the latest record per key outside the active segment ("Log Compaction"), retention
 * deleting from the start of a partition, reads bounded by the high watermark, and the eager
 * rebalance protocol (the old owner gives a partition up before the new one gets it). What it does
 * not model: transactions (the embedded cluster has none either), leader moves, and a consumer
 * whose assignment is lost without the revoke callback (a zombie): see README, "Delivery".
 */
import { copyFileSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { loadConfig } from '../src/config/config.js';
import { devicePartition } from '../src/domain/device-partition.js';
import { isWithdrawal } from '../src/domain/kgd-order.js';
import type { DeclarationEntry } from '../src/domain/types.js';
import { type ResultsConfig, type ResultTopics, resultTopicsOf } from '../src/kafka/result-topics.js';
import { applyApplicationDecision } from '../src/store/declarations.js';
import { bumpTacVersion, openStore, STORE_FILE, type Store } from '../src/store/store.js';
import { SLOTS_FILE } from '../src/store/subject-slots.js';
import { APPLE, imei, tacRecord } from '../test/support/fixtures.js';
import { MemoryKafka } from '../test/support/memory-kafka.js';
import { PipelineInstance, TOPICS } from '../test/support/pipeline-instance.js';

/** A KGD decision as the global tables apply it on every instance, each in its own time. */
export interface DecisionEvent {
  readonly entry: DeclarationEntry;
  readonly bodies: readonly string[];
}

export interface RequestEvent {
  readonly requestId: string;
  readonly device: string;
  /** The partition it is sent to: its device's, or another (then it is forwarded). */
  readonly partition: number;
  readonly ownerId: string;
  /** Who sends it: an operator with a results topic of its own, or one without (the shared topic). */
  readonly operator: string;
}

/** Operators are tenants, as the service runs by default: results on each operator's own topic. */
export const SIM_RESULTS: {
  readonly config: ResultsConfig;
  readonly topics: ResultTopics;
} = (() => {
  const config = { results: loadConfig({ env: {} }).results, topics: TOPICS };
  return { config, topics: resultTopicsOf(config) };
})();
/** Two operators with topics of their own and one without; requests take them in turn. */
export const SIM_OPERATORS = ['beeline', 'kcell', 'mvno-without-topic'] as const;

/** A place for the stores: memory-backed where the machine has it (fsync costs nothing there). */
function scratch(): string {
  const base = process.platform === 'linux' ? '/dev/shm' : tmpdir();
  try {
    return mkdtempSync(join(base, 'imeiflow-sim-'));
  } catch {
    return mkdtempSync(join(tmpdir(), 'imeiflow-sim-'));
  }
}

/** A copy of an instance's LMDB file as of one of its commits (the store it was taken of). */
export interface FlushedStore {
  readonly of: Store;
  readonly file: string;
  readonly applied: number;
}

export class SimInstance {
  readonly name: string;
  store: Store;
  pipeline: PipelineInstance;
  /** How many of the cluster's decisions this instance's global tables have applied. */
  applied = 0;
  /** Partitions the coordinator gave it. */
  owned: number[] = [];
  /**
   * Its store as a machine crash would leave it (World.markFlushed): LMDB as of a transaction it
   * committed earlier, which its background sync had flushed, and the decisions applied by then.
   */
  flushed: FlushedStore | undefined;

  constructor(name: string, store: Store, pipeline: PipelineInstance) {
    this.name = name;
    this.store = store;
    this.pipeline = pipeline;
  }

  /** Its process runs: not crashed by the scheduler, and not exited on a fatal error of its own. */
  get alive(): boolean {
    return !this.pipeline.dead;
  }
}

export class World {
  readonly kafka: MemoryKafka;
  readonly partitions: number;
  readonly instances: SimInstance[] = [];
  readonly decisions: DecisionEvent[] = [];
  readonly #root = scratch();
  readonly #stores: Store[] = [];
  readonly #holding: boolean;
  #storeCount = 0;
  /** Where the world tells what it does (the schedule's trace). */
  onTrace: (what: string) => void = () => undefined;

  constructor(partitions: number, holding: boolean, readBatch: number) {
    this.kafka = new MemoryKafka({ readBatch });
    this.partitions = partitions;
    this.#holding = holding;
  }

  #openStore(flushed?: { file: string; slots: string }): Store {
    const dir = join(this.#root, `store-${this.#storeCount++}`);
    mkdirSync(dir, { recursive: true });
    if (flushed !== undefined) {
      copyFileSync(flushed.file, join(dir, STORE_FILE));
      copyFileSync(flushed.slots, join(dir, SLOTS_FILE));
    }
    const store = openStore({ dataDir: dir });
    this.#stores.push(store);
    // A copy has the TAC table already.
    if (flushed === undefined)
      store.env.transactionSync(() => {
        store.tac.put(APPLE, tacRecord(APPLE));
        bumpTacVersion(store);
      });
    return store;
  }

  /**
   * The instance's LMDB store reaches the disk as it is now: a later machine crash brings it back
   * to this point. lmdb-js commits with `overlappingSync` (its default on Linux, kept by
   * src/store/store.ts): a transaction is visible, and its promise resolves, before the
   * background sync has made it durable; a machine that loses its page cache restarts on the last
   * flushed transaction (lmdb-js README, "Overlapping Sync Options"). A process crash loses none.
   */
  async markFlushed(instance: SimInstance): Promise<void> {
    await instance.store.env.committed;
    const file = join(this.#root, `flushed-${this.#storeCount++}.lmdb`);
    await instance.store.env.backup(file, false);
    if (instance.flushed !== undefined) rmSync(instance.flushed.file, { force: true });
    instance.flushed = { of: instance.store, file, applied: instance.applied };
  }

  #pipeline(store: Store): PipelineInstance {
    const pipeline = new PipelineInstance(this.kafka, store, this.partitions, {
      exitOnFatal: true,
      results: SIM_RESULTS.topics,
    });
    pipeline.producer.holding = this.#holding;
    return pipeline;
  }

  addInstance(name: string): SimInstance {
    const store = this.#openStore();
    const instance = new SimInstance(name, store, this.#pipeline(store));
    this.instances.push(instance);
    return instance;
  }

  get alive(): SimInstance[] {
    return this.instances.filter((i) => i.alive);
  }

  /** A process dies where it stands: nothing more it sends is delivered, nothing more it runs starts. */
  crash(instance: SimInstance): void {
    instance.pipeline.crash();
    instance.owned = [];
  }

  /**
   * The process starts again: on its own store (a restart), on its own store as its last flush
   * left it (a machine crash: `markFlushed`), or on an empty one (a new machine). Its global
   * tables catch up with every decision before it takes partitions.
   */
  async restart(instance: SimInstance, store: 'same' | 'flushed' | 'empty'): Promise<{ lost: number }> {
    let lost = 0;
    // A dead process writes nothing more: wait for the batch it was deciding to be over.
    while (instance.pipeline.runner.inFlight > 0) await new Promise((r) => setImmediate(r));
    if (store === 'empty') {
      instance.store = this.#openStore();
      instance.applied = 0;
    } else if (store === 'flushed') {
      const flushed = instance.flushed;
      if (flushed?.of !== instance.store)
        throw new Error(`${instance.name} has no flushed copy of its store`);
      // The key file is synced before every commit (src/store/subject-slots.ts): it keeps all.
      const slots = join(dirname(instance.store.path), SLOTS_FILE);
      const last = txnId(instance.store);
      instance.store = this.#openStore({ file: flushed.file, slots });
      instance.applied = flushed.applied;
      lost = last - txnId(instance.store);
    }
    instance.pipeline = this.#pipeline(instance.store);
    instance.owned = [];
    await this.applyDecisions(instance, this.decisions.length);
    return { lost };
  }

  /** The instance's global tables apply the cluster's decisions up to `upTo`. */
  async applyDecisions(instance: SimInstance, upTo: number): Promise<void> {
    while (instance.applied < Math.min(upTo, this.decisions.length)) {
      const decision = this.decisions[instance.applied]!;
      let changed: readonly string[] = [];
      await instance.store.env.transaction(() => {
        // As the global table does: a withdrawal that names no IMEI is the whole application's.
        const whole = isWithdrawal(decision.entry.status) && decision.bodies.length === 0;
        changed = applyApplicationDecision(instance.store, { ...decision, whole }).changed;
      });
      instance.applied++;
      if (instance.alive) instance.pipeline.manager.indexChanged(changed, [decision.entry.applicationId]);
    }
  }

  /**
   * The coordinator's eager rebalance: every live owner gives its partitions up (fenced, drained)
   * before the partitions are shared out again among the live instances, `order` first.
   */
  async rebalance(order: readonly SimInstance[]): Promise<void> {
    // Every owner is fenced at once (revoke fences before it awaits anything), then each drains:
    // none goes on working while another is being revoked, whatever the timing.
    const revoking = this.alive.map((instance) => ({ instance, revoked: instance.pipeline.revoke() }));
    for (const { instance, revoked } of revoking) {
      await this.#delivering(instance, revoked);
      instance.owned = [];
      this.onTrace(
        `${instance.name} revoked: alive=${instance.alive} registry ${[...instance.store.registry.getKeys()]}`,
      );
    }
    const members = order.filter((i) => i.alive);
    if (members.length === 0) return;
    for (let p = 0; p < this.partitions; p++) members[p % members.length]!.owned.push(p);
    for (const instance of members) {
      if (instance.owned.length > 0) {
        await this.#delivering(instance, instance.pipeline.recoverAndStart(instance.owned));
        this.onTrace(
          `${instance.name} took ${instance.owned}: alive=${instance.alive} registry ${[...instance.store.registry.getKeys()]} ${instance.pipeline.fatal.map((e) => e.message).join('; ')}`,
        );
      }
    }
  }

  /**
   * Wait for `work` while the network delivers what is held (a drain waits for what it handed
   * over, a recovery for what it publishes again): the scheduler's reordering pauses meanwhile.
   * Work that fails is the process's end, as in the service (onFatal): the instance crashes.
   */
  async #delivering(instance: SimInstance, work: Promise<void>): Promise<void> {
    let done = false;
    let failure: unknown;
    const finished = work.then(
      () => {
        done = true;
      },
      (error: unknown) => {
        done = true;
        failure = error;
      },
    );
    let turns = 0;
    // A process that dies meanwhile never finishes its work: that is the end of the wait.
    while (!done && instance.alive) {
      if (++turns === 100_000 && process.env['IMEIFLOW_SIM_TRACE'] === '1')
        process.stderr.write(
          `  · still waiting for ${instance.name}: ${this.instances.map((i) => `${i.name} alive=${i.alive} inFlight=${i.pipeline.runner.inFlight} queued=${i.pipeline.producer.queued} held=${i.pipeline.producer.heldPartitions()} tasks=${i.pipeline.manager.tasks.map((t) => `${t.partition}:${t.state}`)}`).join(' | ')}\n`,
        );
      for (const live of this.alive) {
        const producer = live.pipeline.producer;
        for (const id of producer.heldPartitions()) while (producer.release(id));
      }
      await new Promise((r) => setImmediate(r));
    }
    if (!instance.alive) {
      instance.owned = [];
      return;
    }
    await finished;
    if (failure !== undefined) {
      instance.pipeline.fatal.push(failure instanceof Error ? failure : new Error(String(failure)));
      this.crash(instance);
    }
  }

  /** Every held delivery of every live producer, in partition order: a healthy network. */
  releaseAll(): void {
    for (const instance of this.alive) {
      const producer = instance.pipeline.producer;
      producer.heal();
      producer.holding = false;
      for (const id of producer.heldPartitions()) while (producer.release(id));
    }
  }

  /**
   * Route and turn the event loop until nothing moves (no batch running, nothing to deliver).
   * `midway` runs once, at turn `at` (or at the end, if the cluster settles before it).
   */
  async settle(at = -1, midway?: () => Promise<void>): Promise<void> {
    let mark = '';
    let still = 0;
    let pending = midway;
    for (let turn = 0; turn < 200_000; turn++) {
      if (turn === at && pending !== undefined) {
        await pending();
        pending = undefined;
      }
      let routed = 0;
      for (const instance of this.alive) routed += instance.pipeline.route();
      await new Promise((r) => setImmediate(r));
      // Writes queued in LMDB commit on another thread: wait for them, so that when the cluster
      // settles does not depend on how fast the disk is (a seed must replay the same way).
      for (const instance of this.instances) await instance.store.env.committed;
      const busy = this.alive.some((i) => i.pipeline.busy);
      const now = `${this.kafka.version}/${this.instances.map((i) => `${i.pipeline.runner.started}.${i.pipeline.producer.delivered}`).join()}`;
      still = !busy && routed === 0 && now === mark ? still + 1 : 0;
      mark = now;
      if (still >= 4) {
        await pending?.();
        return;
      }
    }
    throw new Error('the simulated cluster did not settle');
  }

  /** A request on the partition the event names. */
  send(request: RequestEvent): void {
    this.kafka.append({
      topic: TOPICS.requests,
      partition: request.partition,
      key: request.device,
      value: Buffer.from(
        JSON.stringify({
          requestId: request.requestId,
          imei: request.device,
          operator: request.operator,
          channel: 'import',
          ownerId: request.ownerId,
          msisdn: '+77011234567',
        }),
      ),
    });
  }

  devicePartitionOf(device: string): number {
    return devicePartition(device.slice(0, 14), this.partitions);
  }

  async close(): Promise<void> {
    for (const store of this.#stores) await store.close().catch(() => undefined);
    rmSync(this.#root, { recursive: true, force: true });
  }
}

/** The store's last committed transaction. */
function txnId(store: Store): number {
  return (store.env.getStats() as { lastTxnId: number }).lastTxnId;
}

/** The devices of a simulation: the sample TAC's serials from `base`. */
export function simDevices(count: number, base: number): string[] {
  return Array.from({ length: count }, (_, i) => imei(APPLE, base + i));
}
