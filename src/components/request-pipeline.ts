/**
 * The request pipeline (src/pipeline/request-pipeline.ts) as a component: it starts fetching
 * last but for the timers and the control plane, and at shutdown stops fetching, drains every
 * task within the configured deadline (`shutdownTimeoutMs`) and leaves the group. Not ready while
 * it recovers partitions or has no connection.
 */
import { RequestPipeline, type RequestPipelineDeps } from '../pipeline/request-pipeline.js';
import { type Component, type GaugeTable, gaugesOf } from '../runtime/component.js';

export const PIPELINE_GAUGES: GaugeTable<RequestPipeline> = [
  {
    name: 'consumer_queue_depth',
    help: 'Messages fetched and waiting for their partition’s next batch',
    read: (pipeline) => pipeline.queuedMessages,
  },
  {
    name: 'partitions_owned',
    help: 'Request partitions this instance owns',
    read: (pipeline) => pipeline.activePartitions.length,
  },
];

export class RequestPipelineComponent implements Component {
  readonly name = 'request pipeline';
  readonly pipeline: RequestPipeline;
  readonly gauges;
  readonly #drainMs: number;

  constructor(deps: RequestPipelineDeps) {
    this.pipeline = new RequestPipeline(deps);
    this.gauges = gaugesOf(PIPELINE_GAUGES, this.pipeline);
    this.#drainMs = deps.config.shutdownTimeoutMs;
  }

  start(): Promise<void> {
    return this.pipeline.start();
  }

  stop(): Promise<void> {
    return this.pipeline.stop(this.#drainMs);
  }

  notReadyReason(): string | null {
    return this.pipeline.ready ? null : 'partitions are being recovered or Kafka is not connected';
  }

  /** Partitions this instance owns and runs. */
  get activePartitions(): number[] {
    return this.pipeline.activePartitions;
  }
}
