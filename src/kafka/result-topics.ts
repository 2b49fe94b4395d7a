/**
 * Operators are tenants (DESIGN.md §4): with `results.perOperator`, each operator of
 * `results.operators` gets its results on a topic of its own (`results.topicPattern`), so Kafka
 * ACLs can give each operator only its own; everything else, and everything when the option is
 * off, goes to the shared `topics.results`. Topic creation, the pipeline, recovery and the
 * generated deploy files take the topics from here.
 */
import type { Config } from '../config/config.js';
import { tenantCode } from '../pool/result-tenants.js';
import { TOPIC_ROLE_NAMES, type TopicRoleName } from './topic-roles.js';

export interface OperatorTopic {
  readonly operator: string;
  readonly topic: string;
  /** What a worker marks the operator's results with (src/pool/result-tenants.ts). */
  readonly tenant: number;
}

/** Each configured operator's results topic; none when results share one topic. */
export function operatorResultTopics(config: { readonly results: Config['results'] }): OperatorTopic[] {
  const { perOperator, operators, topicPattern } = config.results;
  if (!perOperator) return [];
  return operators.map((operator) => ({
    operator,
    topic: topicPattern.replace('{operator}', operator),
    tenant: tenantCode(operator),
  }));
}

/** Where results go (src/pipeline/record-collector.ts). */
export interface ResultTopics {
  readonly shared: string;
  readonly byTenant: ReadonlyMap<number, string>;
  /** Results of an operator without a topic of its own, when operators have their own (a metric). */
  readonly unrouted?: (count: number) => void;
}

/** What routing results needs of a configuration. */
export interface ResultsConfig {
  readonly results: Config['results'];
  readonly topics: { readonly results: string };
}

export function resultTopicsOf(config: ResultsConfig, unrouted?: (count: number) => void): ResultTopics {
  const byTenant = new Map(operatorResultTopics(config).map((o) => [o.tenant, o.topic]));
  return { shared: config.topics.results, byTenant, ...(unrouted === undefined ? {} : { unrouted }) };
}

/** Every topic of a configuration with its role: one per role, and each operator's results topic. */
export function configuredTopics(
  config: Pick<Config, 'results' | 'topics'>,
): { readonly role: TopicRoleName; readonly topic: string }[] {
  return [
    ...TOPIC_ROLE_NAMES.map((role) => ({ role, topic: config.topics[role] })),
    ...operatorResultTopics(config).map(({ topic }) => ({ role: 'results' as const, topic })),
  ];
}
