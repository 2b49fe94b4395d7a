/** What the pipeline reports as it works; the metrics module implements it (per batch, not per message). */
import type { SignatureProblem } from '../security/signed-events.js';
import type { LogMessage } from './kafka-port.js';
import type { TaskObserver } from './partition-task.js';

/** Where a record was read: what a passed record is counted by, once. */
export type RecordPosition = Pick<LogMessage, 'topic' | 'partition' | 'offset'>;

export interface PipelineObserver extends TaskObserver {
  consumed(topic: string, count: number): void;
  /** Input the broker deleted before it was read. */
  inputLost(topic: string, count: number): void;
  /** Results of an operator without a topic of its own went to the shared results topic. */
  resultsUnrouted(count: number): void;
  /** A record of an internal topic nobody can read was passed: counted once however often read. */
  recordSkipped(message: RecordPosition): void;
  /** An event of a signed topic (here: a command) lacked the cluster key's signature. */
  recordRefused(topic: string, reason: SignatureProblem): void;
  /** librdkafka's statistics JSON of the request consumer (consumer lag per partition). */
  kafkaStatistics(json: string): void;
}
