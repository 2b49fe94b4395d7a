/**
 * The settings of the request pipeline and its verify workers: how many workers and what each
 * keeps, how batches are cut, how long a request may be. Part of src/config/settings.ts.
 */
import { section, setting } from './define.js';
import { int } from './validators.js';

export const pool = section({
  workers: setting({
    schema: int(1, 64).nullable(),
    default: null,
    env: 'IMEIFLOW_WORKERS',
    doc: 'Verify worker threads; null (or the variable empty or `auto`): one per CPU core, at least 1.',
    readBy: ['worker pool'],
  }),
  maxQueuedBatchesPerWorker: setting({
    schema: int(1, 64),
    default: 2,
    doc: 'Batches queued per worker beyond the one it runs.',
    readBy: ['worker pool'],
  }),
  youngGenerationMb: setting({
    schema: int(0, 4096),
    default: 192,
    env: 'IMEIFLOW_WORKER_YOUNG_GENERATION_MB',
    doc:
      "Each verify worker's young generation (MB; 0: V8's own size): a batch makes many short-lived " +
      'objects, and a larger young generation collects them in fewer scavenges (bench/batch: about 10 % less ' +
      "CPU per request at 192 than at V8's default; docs/performance.md). Costs that much memory per worker.",
    readBy: ['worker pool'],
  }),
  tacCacheEntries: setting({
    schema: int(1000, 5_000_000),
    default: 500_000,
    env: 'IMEIFLOW_TAC_CACHE_ENTRIES',
    doc:
      'TACs each verify worker keeps in memory (every request reads its TAC; unknown ones count too); past ' +
      'it the cache starts over. The default holds the whole GSMA table; each worker has its own, so lower it ' +
      'where many workers share little memory.',
    readBy: ['workers'],
  }),
});

export const pipeline = section({
  batchMaxMessages: setting({
    schema: int(1, 65536),
    default: 1024,
    env: 'IMEIFLOW_BATCH_MAX_MESSAGES',
    doc: "The most messages of one partition in one batch (one journal record, one worker's task).",
    readBy: ['request pipeline'],
  }),
  batchMaxWaitMs: setting({
    schema: int(0, 10_000),
    default: 5,
    doc: 'How long the consumer waits for more messages before a batch goes.',
    readBy: ['request pipeline'],
  }),
  maxMessageBytes: setting({
    // At most Kafka's default topic limit (message.max.bytes, 1 048 588 bytes): a request imeiflow
    // accepts must also fit the repartition topic it may be forwarded on, and a batch of them the
    // journal's 8 MiB record (issue 20: size limits consistent end to end).
    schema: int(256, 1_000_000),
    default: 65536,
    doc: 'A request longer than this is not decoded: the DLQ keeps it, and its sender is answered invalid_request when its requestId can be read from its start.',
    readBy: ['workers'],
  }),
});
