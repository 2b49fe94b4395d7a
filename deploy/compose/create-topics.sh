#!/bin/bash
# Creates imeiflow's topics (idempotent), as src/kafka/topic-roles.ts describes them. The device
# topics all get PARTITIONS partitions: partition N of each belongs to the owner of the devices
# whose IMEI body hashes to N. Compacted topics keep the latest record per key for good: the
# journal, the pending changelog, and bdik.confirmations and bdik.revocations, which are also the
# registry's changelog (a partition's next owner restores the registry from them); the global
# tables (TAC, block list, local production, tokens, KGD export months) keep one record per key.
set -euo pipefail
KT=/opt/kafka/bin/kafka-topics.sh
until $KT --bootstrap-server "$BOOTSTRAP" --list >/dev/null 2>&1; do echo 'waiting for Kafka'; sleep 2; done
create() { # name cleanup.policy partitions [extra config]
  $KT --bootstrap-server "$BOOTSTRAP" --create --if-not-exists --topic "$1" \
    --partitions "$3" --replication-factor "$REPLICATION" \
    --config cleanup.policy="$2" --config min.insync.replicas=2 ${4:+--config "$4"}
}
create imei.verify.requests delete "$PARTITIONS" retention.ms=604800000
create imeiflow.requests.repartition delete "$PARTITIONS" retention.ms=604800000
create imeiflow.commands delete "$PARTITIONS" retention.ms=604800000
create imeiflow.journal compact "$PARTITIONS" max.message.bytes=8388608
create imeiflow.pending.changelog compact "$PARTITIONS"
create imei.verify.results delete "$PARTITIONS" retention.ms=2592000000
create bdik.confirmations compact "$PARTITIONS"
create bdik.revocations compact "$PARTITIONS"
create imei.verify.dlq delete "$PARTITIONS" retention.ms=2592000000
create kgd.release.decisions delete "$PARTITIONS" retention.ms=-1
create imeiflow.tac compact "$PARTITIONS"
create imeiflow.blocklist compact "$PARTITIONS"
create imeiflow.local-production compact "$PARTITIONS"
create imeiflow.tokens compact 1
create imeiflow.audit delete 1 retention.ms=-1
create imeiflow.exports compact 1
$KT --bootstrap-server "$BOOTSTRAP" --describe | grep -E '^Topic:' || true
