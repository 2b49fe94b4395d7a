/**
 * The device topics (src/kafka/topic-roles.ts declares every topic; topic-declaration.ts says
 * what a declaration holds): partition N of each belongs to the owner of the devices whose IMEI
 * body hashes to N. The inputs a partition task reads (requests, re-keyed requests, commands),
 * its commit point (the journal) and state (the waiting requests' changelog), and the outputs
 * it publishes: results, БДИК's confirmations and revocations, dead letters.
 */
import { z } from 'zod';
import {
  confirmationMessageSchema,
  dlqMessageSchema,
  resultMessageSchema,
  revocationMessageSchema,
  verifyRequestSchema,
} from '../domain/messages.js';
import {
  JSON_CONTENT as json,
  MSGPACK_CONTENT as msgpack,
  topicRole as role,
  type TopicRole,
} from './topic-declaration.js';

// The largest journal record (a whole batch's outputs): the journal topic's max.message.bytes,
// and what the producer must take (src/kafka/client.ts).
export const JOURNAL_MAX_MESSAGE_BYTES = 8 * 1024 * 1024;

const imei15 = z
  .string()
  .regex(/^\d{15}$/)
  .describe('The 15-digit IMEI.');
/** What every device topic's outputs share: written by one instance, on the device's partition. */
const deviceOutput = { scope: 'device', exact: false, partitions: null, writtenBy: ['imeiflow'] } as const;

/** In the order of docs/topics.md and the `topics` settings. */
export const DEVICE_TOPICS = {
  requests: role({
    name: 'imei.verify.requests',
    env: 'IMEIFLOW_TOPIC_REQUESTS',
    title: 'Verification requests',
    about: 'verification requests (device registrations), JSON or msgpack',
    description:
      'Device registrations from the mobile operators, JSON or msgpack. Any key works; keyed by the ' +
      '14-digit IMEI body with the murmur2 partitioner (the Java default; librdkafka ' +
      '`partitioner=murmur2_random`) a request is already on its device partition. One on another ' +
      'partition is re-keyed through imeiflow.requests.repartition, so every decision about a ' +
      'device is made by one owner. A request that cannot be decoded, or has no usable requestId, ' +
      'goes to the DLQ; one with a field wrong is answered rejected / invalid_request, the detail ' +
      'naming the field. A value longer than pipeline.maxMessageBytes goes to the DLQ. Outputs go ' +
      "to the device's partition N of each output topic.",
    scope: 'device',
    exact: true,
    partitions: null,
    key: 'the 14-digit IMEI body, murmur2 (any key works)',
    keySchema: z
      .string()
      .describe(
        'Any key works: imeiflow routes each request to its device partition itself. Keyed by the ' +
          "14-digit IMEI body with Kafka's default (murmur2) partitioner, a request needs no extra hop.",
      ),
    value: {
      contract: true,
      imeiflow: 'receive',
      messages: [
        {
          name: 'verifyRequest',
          title: 'Verification request (JSON)',
          summary: 'A device registration to verify.',
          contentType: json,
          payload: 'VerifyRequest',
          schema: verifyRequestSchema,
          io: 'input',
          headers: 'request',
        },
        {
          name: 'verifyRequestMsgpack',
          title: 'Verification request (msgpack)',
          summary: 'The same request encoded as msgpack, with the header content-type: application/msgpack.',
          contentType: msgpack,
          payload: 'VerifyRequest',
          schema: verifyRequestSchema,
          io: 'input',
          headers: 'request',
        },
      ],
    },
    writtenBy: ['mobile operators'],
    readBy: ['imeiflow (the consumer group; each partition by one instance)'],
    cleanup: 'delete',
    why: 'input with owners and phones: kept as long as a crash or the longest outage you want to absorb may need it again',
    retention: { kind: 'days', setting: 'requestsDays' },
  }),
  repartition: role({
    name: 'imeiflow.requests.repartition',
    env: 'IMEIFLOW_TOPIC_REPARTITION',
    title: 'Re-keyed requests (internal)',
    about: "requests that arrived on another partition than their device's, re-keyed by IMEI body",
    description:
      "Requests that arrived on another partition than their device's, forwarded undecided (sealed " +
      'under the cluster-derived topic key) with their encoding, receipt time and imeiflow-origin.',
    scope: 'device',
    exact: true,
    partitions: null,
    key: 'the 14-digit IMEI body',
    value: { contract: false, encoding: json },
    writtenBy: ['imeiflow'],
    readBy: ["imeiflow (the device's owner)"],
    cleanup: 'delete',
    why: 're-keyed requests, with owners and phones: as long as the requests',
    retention: { kind: 'days', setting: 'requestsDays' },
  }),
  commands: role({
    name: 'imeiflow.commands',
    env: 'IMEIFLOW_TOPIC_COMMANDS',
    title: 'Commands (internal)',
    about: "reviewer decisions, deadlines and purges, for the device's owner to decide",
    description:
      'Reviewer decisions, deadlines and purges, signed with the cluster key (imeiflow-signature; else ' +
      'refused), sent to the device’s partition: exactly as many partitions as the requests topic.',
    scope: 'device',
    exact: true,
    partitions: null,
    key: 'the 14-digit IMEI body',
    value: { contract: false, encoding: json },
    writtenBy: ['imeiflow (any instance)'],
    readBy: ["imeiflow (the device's owner)"],
    cleanup: 'delete',
    why: 'reviewer decisions, deadlines and purges of those requests: as long as the requests',
    retention: { kind: 'days', setting: 'requestsDays' },
  }),
  journal: role({
    name: 'imeiflow.journal',
    env: 'IMEIFLOW_TOPIC_JOURNAL',
    title: 'Journal (internal)',
    about: 'one record per processed batch: the exactly-once commit point',
    description: 'One record per batch (sealed under the cluster-derived topic key): the commit point.',
    scope: 'device',
    exact: false,
    partitions: null,
    key: 'p<partition>.<record number modulo the journal window>',
    value: { contract: false, encoding: msgpack },
    writtenBy: ['imeiflow'],
    readBy: ['imeiflow (recovery)'],
    cleanup: 'compact',
    why: 'the exactly-once commit point: the last records per partition (the journal window)',
    retention: { kind: 'forgetting' },
    properties: { 'max.message.bytes': String(JOURNAL_MAX_MESSAGE_BYTES) },
  }),
  pendingChangelog: role({
    name: 'imeiflow.pending.changelog',
    env: 'IMEIFLOW_TOPIC_PENDING_CHANGELOG',
    title: 'Waiting requests changelog (internal)',
    about: "requests waiting for KGD or a reviewer, per device; restored by a partition's next owner",
    description:
      'Requests waiting for KGD or a reviewer, per device (sealed under the cluster-derived topic key): ' +
      "restored by a partition's next owner, and read by every instance as the review table.",
    ...deviceOutput,
    key: 'p/<14-digit IMEI body>',
    value: { contract: false, encoding: msgpack },
    readBy: ['imeiflow (the next owner restores; every instance keeps the review table)'],
    cleanup: 'compact',
    why: "partition-local state, restored by a partition's next owner: the latest record per device",
    retention: { kind: 'forgetting' },
  }),
  results: role({
    name: 'imei.verify.results',
    env: 'IMEIFLOW_TOPIC_RESULTS',
    title: 'Outcomes',
    about: 'outcomes for operators without a topic of their own: `pending`, `review`, one final',
    description:
      'Every outcome of a request, exactly once: pending and review may come first, then one final ' +
      'confirmed or rejected. Key: requestId. Each operator of results.operators gets its own on imei.verify.results.<operator>; this shared topic has the others (all with results.perOperator false).',
    ...deviceOutput,
    key: 'requestId',
    keySchema: z.string().describe('The requestId of the request.'),
    value: {
      contract: true,
      imeiflow: 'send',
      messages: [
        {
          name: 'result',
          title: 'Outcome',
          summary: 'One outcome of a request: pending, review, then one final confirmed or rejected.',
          contentType: json,
          payload: 'Result',
          schema: resultMessageSchema,
          io: 'output',
          headers: 'position',
        },
      ],
    },
    readBy: ['operators without a topic of their own; SREs'],
    cleanup: 'delete',
    why: "the operators' answers (no owner or phone); partition N holds what request partition N produced",
    retention: { kind: 'days', setting: 'resultsDays' },
  }),
  confirmations: role({
    name: 'bdik.confirmations',
    env: 'IMEIFLOW_TOPIC_CONFIRMATIONS',
    title: 'БДИК confirmations',
    about: "one per verified device; also the registry's changelog",
    description:
      'One per verified device, never a duplicate, exactly once across crashes and rebalances. ' +
      "Key: the 15-digit IMEI. Compacted: it is also the registry's changelog, from which a " +
      "partition's next owner restores what БДИК holds. A null value (a tombstone) is not a " +
      'confirmation and withdraws nothing: imeiflow writes one when a confirmation was revoked or ' +
      'its data destroyed on request, so compaction removes the owner and phone it held; consumers skip it.',
    ...deviceOutput,
    key: 'the 15-digit IMEI',
    keySchema: imei15,
    value: {
      contract: true,
      imeiflow: 'send',
      messages: [
        {
          name: 'confirmation',
          title: 'БДИК confirmation',
          summary: 'A verified device, once.',
          contentType: json,
          payload: 'Confirmation',
          schema: confirmationMessageSchema,
          io: 'output',
          headers: 'position',
        },
      ],
    },
    readBy: ['БДИК', 'imeiflow (restoring the registry)'],
    cleanup: 'compact',
    why: "БДИК's input and the registry's changelog: the latest record per IMEI; tombstones from revocations and purges take the rest away",
    retention: { kind: 'forgetting' },
  }),
  revocations: role({
    name: 'bdik.revocations',
    env: 'IMEIFLOW_TOPIC_REVOCATIONS',
    title: 'БДИК revocations',
    about: "a confirmation БДИК must withdraw (rule 9); also the registry's changelog",
    description:
      'A confirmation БДИК must withdraw because KGD revoked the release decision it rested on ' +
      '(rule 9). Key: the 15-digit IMEI. Compacted, with the confirmations: the registry changelog. ' +
      'A null value (a tombstone) is not a revocation: imeiflow writes one when the data of the ' +
      'device or its owner is destroyed on request; consumers skip it.',
    ...deviceOutput,
    key: 'the 15-digit IMEI',
    keySchema: imei15,
    value: {
      contract: true,
      imeiflow: 'send',
      messages: [
        {
          name: 'revocation',
          title: 'БДИК revocation',
          summary: 'A confirmation БДИК must withdraw (rule 9).',
          contentType: json,
          payload: 'Revocation',
          schema: revocationMessageSchema,
          io: 'output',
          headers: 'position',
        },
      ],
    },
    readBy: ['БДИК', 'imeiflow (restoring the registry)'],
    cleanup: 'compact',
    why: "with the confirmations, the registry's changelog",
    retention: { kind: 'forgetting' },
  }),
  dlq: role({
    name: 'imei.verify.dlq',
    env: 'IMEIFLOW_TOPIC_DLQ',
    title: 'Dead letters',
    about: 'what cannot be decoded: topic, partition, offset, error, original bytes (base64, first 64 KiB)',
    description:
      'What cannot be decoded or answered: the source topic, partition, offset and key, the ' +
      'error, and the first 64 KiB of the original value (base64). Key: the source key (its first 4 096 characters). Entries ' +
      'for requests and commands are published exactly once through the journal; entries for ' +
      'release decisions once, by the validator that owns the decisions partition.',
    ...deviceOutput,
    key: 'the source key (its first 4 096 characters)',
    keySchema: z.string().nullable().describe('The key of the message that could not be answered (or none).'),
    value: {
      contract: true,
      imeiflow: 'send',
      messages: [
        {
          name: 'dlqEntry',
          title: 'Dead letter',
          summary: 'A message imeiflow could not decode or answer, with where it was read.',
          contentType: json,
          payload: 'DlqEntry',
          schema: dlqMessageSchema,
          io: 'output',
          headers: 'optionalPosition',
        },
      ],
    },
    readBy: ['operators and SREs (investigation)'],
    cleanup: 'delete',
    why: 'undecodable input, whatever it held',
    retention: { kind: 'days', setting: 'dlqDays' },
  }),
} as const satisfies Record<string, TopicRole>;
