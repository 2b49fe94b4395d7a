/**
 * An in-memory Kafka for unit tests of the pipeline's commit protocol and recovery
 * (src/pipeline/kafka-port.ts): partitions as arrays of messages, read back the way node-rdkafka
 * hands them over (key and header values as Buffers, one `{ name: value }` object per header,
 * CreateTime timestamps), and producers that deliver in order, later, as librdkafka does.
 *
 * Crashes are modelled at the producer, where a process loses them: `crashAfter(n)` delivers at
 * most n more messages; everything queued or sent after the cut never reaches the log and its
 * delivery never settles (nobody is left to learn of it). `loseTo(topic)` delivers nothing more
 * to one topic while the others go on, as when one partition's leader is unreachable: with
 * several partitions, a crash need not cut all of them at the same point. `failNextTo(topic)`
 * makes one delivery to a topic fail, as a broker error does: nothing is written and the send
 * rejects.
 */
import type Kafka from 'node-rdkafka';
import { ImeiflowError } from '../../src/errors.js';
import type {
  DeliveredOffsets,
  LogMessage,
  OutgoingMessage,
  OutputSink,
  PartitionLog,
} from '../../src/pipeline/kafka-port.js';

interface Partition {
  /** The first offset kept: messages before it were deleted (retention). */
  low: number;
  /** The next offset to be written (the high watermark). */
  next: number;
  /** Kept messages in offset order; compaction leaves gaps between their offsets. */
  readonly messages: LogMessage[];
  /** Every message ever written, compaction and retention notwithstanding: what a live reader saw. */
  readonly history: LogMessage[];
}

function toBuffer(value: string | Buffer): Buffer {
  return typeof value === 'string' ? Buffer.from(value, 'utf8') : Buffer.from(value);
}

export class MemoryKafka implements PartitionLog {
  readonly #partitions = new Map<string, Partition>();
  /** Messages handed over per readToEnd batch: small, so batching is exercised. */
  #readBatch: number;
  /** Bumped on every append: tests wait for it to stand still. */
  version = 0;

  constructor(options: { readBatch?: number } = {}) {
    this.#readBatch = options.readBatch ?? 4;
  }

  #partition(topic: string, partition: number): Partition {
    const id = `${topic}/${partition}`;
    let p = this.#partitions.get(id);
    if (p === undefined) {
      p = { low: 0, next: 0, messages: [], history: [] };
      this.#partitions.set(id, p);
    }
    return p;
  }

  /** Write a message (copied, as a broker stores bytes), at the end of its partition. */
  append(message: OutgoingMessage): LogMessage {
    // The pipeline always names the partition; the partitioner is the broker clients' business.
    if (message.partition === null) throw new Error('the in-memory log needs an explicit partition');
    const partition = message.partition;
    const p = this.#partition(message.topic, partition);
    const headers: Kafka.MessageHeader[] = [];
    for (const header of message.headers ?? []) {
      for (const [name, value] of Object.entries(header)) headers.push({ [name]: toBuffer(value) });
    }
    const stored: LogMessage = {
      topic: message.topic,
      partition,
      offset: p.next++,
      key: message.key === null ? null : toBuffer(message.key),
      value: message.value === null ? null : Buffer.from(message.value),
      headers,
      timestamp: message.timestamp ?? Date.now(),
    };
    p.messages.push(stored);
    p.history.push(stored);
    this.version++;
    return stored;
  }

  /** Every message a partition was ever written, oldest first: what a reader keeping up saw. */
  history(topic: string, partition: number): readonly LogMessage[] {
    return this.#partition(topic, partition).history;
  }

  /** Every message of a partition still kept, oldest first. */
  messages(topic: string, partition: number): readonly LogMessage[] {
    return this.#partition(topic, partition).messages;
  }

  /**
   * Log compaction (Kafka's `cleanup.policy=compact`, documented in "Log Compaction",
   * kafka.apache.org/documentation/#compaction): of the messages before the active segment (here:
   * all but the last `activeSegment`), those whose key has a later message are removed; offsets
   * do not change, so readers see gaps. Tombstones are kept (their `delete.retention.ms` has not
   * passed), as is every message without a key.
   */
  compact(topic: string, partition: number, activeSegment = 2): number {
    const p = this.#partition(topic, partition);
    const cleanable = Math.max(0, p.messages.length - activeSegment);
    const keyOf = (m: LogMessage): string | null =>
      m.key === null || m.key === undefined ? null : toBuffer(m.key).toString('hex');
    const latest = new Map<string, number>();
    p.messages.forEach((m, i) => {
      const key = keyOf(m);
      if (key !== null) latest.set(key, i);
    });
    const kept = p.messages.filter((m, i) => {
      const key = keyOf(m);
      return i >= cleanable || key === null || latest.get(key) === i;
    });
    const removed = p.messages.length - kept.length;
    p.messages.splice(0, p.messages.length, ...kept);
    if (removed > 0) this.version++;
    return removed;
  }

  /** Retention: drop the messages before `offset`. */
  deleteBefore(topic: string, partition: number, offset: number): void {
    const p = this.#partition(topic, partition);
    const drop = p.messages.findIndex((m) => m.offset >= offset);
    p.messages.splice(0, drop === -1 ? p.messages.length : drop);
    p.low = Math.max(p.low, Math.min(offset, p.next));
  }

  producer(): MemoryProducer {
    return new MemoryProducer(this);
  }

  async bounds(topic: string, partition: number): Promise<{ low: number; high: number }> {
    const p = this.#partition(topic, partition);
    return { low: p.low, high: p.next };
  }

  /** As the partition reader does: the messages kept at offsets [high − count, high). */
  async lastMessages(topic: string, partition: number, count: number): Promise<LogMessage[]> {
    const p = this.#partition(topic, partition);
    return p.messages.filter((m) => m.offset >= p.next - count);
  }

  async readToEnd(
    topic: string,
    partition: number,
    from: number,
    onBatch: (messages: readonly LogMessage[]) => Promise<void>,
  ): Promise<number> {
    const p = this.#partition(topic, partition);
    const high = p.next;
    const range = p.messages.filter((m) => m.offset >= from && m.offset < high);
    for (let i = 0; i < range.length; i += this.#readBatch)
      await onBatch(range.slice(i, i + this.#readBatch));
    return high;
  }

  /** Short fetches: how many messages each `readToEnd` batch hands over from now on. */
  set readBatch(size: number) {
    this.#readBatch = Math.max(1, size);
  }
}

interface Send {
  remaining: number;
  failed: boolean;
  readonly offsets: DeliveredOffsets;
  resolve(offsets: DeliveredOffsets): void;
  reject(error: Error): void;
}

/** One process's producer: delivers its sends in order, on a later turn of the event loop. */
export class MemoryProducer implements OutputSink {
  readonly #log: MemoryKafka;
  readonly #queue: { readonly message: OutgoingMessage; readonly send: Send }[] = [];
  #scheduled = false;
  #budget = Number.POSITIVE_INFINITY;
  readonly #failing = new Set<string>();
  readonly #unreachable = new Set<string>();
  /** A delivery failed: the producer is stopped, as a fatal error stops librdkafka's. */
  #stopped = false;
  /**
   * Under the simulation's scheduler: messages wait in one queue per partition until `release`
   * lets a partition's first one go, so partitions deliver in any order the scheduler picks and
   * each in its own order (as an idempotent producer does).
   */
  holding = false;
  readonly #held = new Map<string, { readonly message: OutgoingMessage; readonly send: Send }[]>();
  delivered = 0;

  constructor(log: MemoryKafka) {
    this.#log = log;
  }

  /** Deliver at most `n` more messages, then none: the process died there. */
  crashAfter(n: number): void {
    this.#budget = n;
  }

  /** Nothing more is delivered. */
  crash(): void {
    this.#budget = 0;
    this.#held.clear();
  }

  /** Partitions (`topic/partition`) with messages held for the scheduler. */
  heldPartitions(): string[] {
    return [...this.#held].filter(([, queue]) => queue.length > 0).map(([id]) => id);
  }

  /** Deliver the first held message of a partition; false when none is held there. */
  release(id: string): boolean {
    const queue = this.#held.get(id);
    const next = queue?.shift();
    if (next === undefined) return false;
    this.#write(next.message, next.send);
    return true;
  }

  get crashed(): boolean {
    return this.#budget === 0;
  }

  /** Nothing more reaches `topic`; those sends never settle. */
  loseTo(topic: string): void {
    this.#unreachable.add(topic);
  }

  /** Injected failures not yet triggered are forgotten (the simulation's network heals). */
  heal(): void {
    this.#failing.clear();
    this.#unreachable.clear();
  }

  /**
   * The next message to `topic` is not written and its send rejects (a delivery error). As with
   * librdkafka's `enable.gapless.guarantee` (CONFIGURATION.md: "any error that could result in a
   * gap in the produced message series ... will raise a fatal error and stop the producer"),
   * every message after it fails too: no later message is written past the one that failed.
   */
  failNextTo(topic: string): void {
    this.#failing.add(topic);
  }

  /** Messages queued and not yet delivered (or lost). */
  get queued(): number {
    return this.#queue.length;
  }

  async enqueue(messages: readonly OutgoingMessage[]): Promise<{ delivered: Promise<DeliveredOffsets> }> {
    if (messages.length === 0) return { delivered: Promise.resolve(new Map()) };
    let send!: Send;
    const delivered = new Promise<DeliveredOffsets>((resolve, reject) => {
      send = { remaining: messages.length, failed: false, offsets: new Map(), resolve, reject };
    });
    for (const message of messages) this.#queue.push({ message, send });
    if (!this.#scheduled) {
      this.#scheduled = true;
      setImmediate(() => this.#deliver());
    }
    return { delivered };
  }

  async send(messages: readonly OutgoingMessage[]): Promise<DeliveredOffsets> {
    const { delivered } = await this.enqueue(messages);
    return delivered;
  }

  #deliver(): void {
    this.#scheduled = false;
    for (const { message, send } of this.#queue.splice(0)) {
      if (this.holding) {
        const id = `${message.topic}/${message.partition}`;
        const queue = this.#held.get(id);
        if (queue === undefined) this.#held.set(id, [{ message, send }]);
        else queue.push({ message, send });
        continue;
      }
      this.#write(message, send);
    }
  }

  #write(message: OutgoingMessage, send: Send): void {
    // Past the crash, or to a partition it cannot reach: lost, and its send never settles.
    if (this.#budget === 0 || this.#unreachable.has(message.topic)) return;
    if (this.#stopped || this.#failing.delete(message.topic)) {
      this.#stopped = true;
      if (!send.failed) {
        send.failed = true;
        send.reject(
          new ImeiflowError(
            'KAFKA_FATAL',
            `delivery to ${message.topic}[${message.partition}] failed: injected`,
          ),
        );
      }
      return;
    }
    this.#budget--;
    const { offset } = this.#log.append(message);
    this.delivered++;
    const last = send.offsets.get(message.topic);
    if (last === undefined || offset > last) send.offsets.set(message.topic, offset);
    if (--send.remaining === 0 && !send.failed) send.resolve(send.offsets);
  }
}
