/** What the pipeline reports as it works; the metrics module implements it (per batch, not per message). */
import type { OutcomeCounts } from './batch-effects.js';

export interface PipelineObserver {
  consumed(topic: string, count: number): void;
  batchVerified(size: number, durationSeconds: number): void;
  outcomes(counts: OutcomeCounts): void;
  /** End-to-end latency of each published request, from its Kafka timestamp to delivery. */
  delivered(latenciesSeconds: readonly number[]): void;
  journalAppended(partition: number, seq: number): void;
  /** Input the broker deleted before it was read. */
  inputLost(topic: string, count: number): void;
  /** librdkafka's statistics JSON of the request consumer (consumer lag per partition). */
  kafkaStatistics(json: string): void;
}
