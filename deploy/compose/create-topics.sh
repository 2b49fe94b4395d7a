#!/bin/bash
# Creates imeiflow's topics (idempotent). The request-partitioned topics all get PARTITIONS
# partitions: imeiflow writes the outputs of request partition N to partition N of each.
set -euo pipefail
KT=/opt/kafka/bin/kafka-topics.sh
until $KT --bootstrap-server "$BOOTSTRAP" --list >/dev/null 2>&1; do echo 'waiting for Kafka'; sleep 2; done
create() { # name cleanup.policy [extra config]
  $KT --bootstrap-server "$BOOTSTRAP" --create --if-not-exists --topic "$1" \
    --partitions "$PARTITIONS" --replication-factor "$REPLICATION" \
    --config cleanup.policy="$2" --config min.insync.replicas=2 ${3:+--config "$3"}
}
create imei.verify.requests delete retention.ms=604800000
create kgd.release.decisions compact
create imei.verify.results delete retention.ms=2592000000
create bdik.confirmations delete retention.ms=2592000000
create bdik.revocations delete retention.ms=2592000000
create imei.verify.dlq delete retention.ms=2592000000
create imeiflow.commands delete retention.ms=604800000
create imeiflow.journal compact max.message.bytes=8388608
create imeiflow.pending.changelog compact
create imeiflow.registry.changelog compact
$KT --bootstrap-server "$BOOTSTRAP" --describe | grep -E '^Topic:' || true
