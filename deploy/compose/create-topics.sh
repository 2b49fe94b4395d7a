#!/bin/bash
# Creates imeiflow's topics (idempotent), as src/kafka/topic-roles.ts describes them, with the
# retention of src/kafka/topic-settings.ts at the defaults of config/default.json (a test keeps
# them equal; README "Confidential data" says why each). The device topics all get PARTITIONS
# partitions: partition N of each belongs to the owner of the devices whose IMEI body hashes to
# N. The compacted topics holding personal data — the journal, the pending changelog, and
# bdik.confirmations and bdik.revocations, which are also the registry's changelog — roll and
# clean their segments within a day, and keep a tombstone a day, so what is superseded or
# destroyed is gone from Kafka too.
# The global tables (TAC, block list, local production, tokens, KGD export months) keep one
# record per key.
set -euo pipefail
KT=${KAFKA_TOPICS:-/opt/kafka/bin/kafka-topics.sh}
until $KT --bootstrap-server "$BOOTSTRAP" --list >/dev/null 2>&1; do echo 'waiting for Kafka'; sleep 2; done
create() { # name cleanup.policy partitions [key=value …]
  local name=$1 cleanup=$2 partitions=$3
  shift 3
  local configs=(--config cleanup.policy="$cleanup" --config min.insync.replicas=2)
  for setting in "$@"; do configs+=(--config "$setting"); done
  $KT --bootstrap-server "$BOOTSTRAP" --create --if-not-exists --topic "$name" \
    --partitions "$partitions" --replication-factor "$REPLICATION" "${configs[@]}"
}
DAY=86400000
FORGET=(segment.ms=$DAY max.compaction.lag.ms=$DAY delete.retention.ms=$DAY)
create imei.verify.requests delete "$PARTITIONS" retention.ms=$((7 * DAY))
create imeiflow.requests.repartition delete "$PARTITIONS" retention.ms=$((7 * DAY))
create imeiflow.commands delete "$PARTITIONS" retention.ms=$((7 * DAY))
create imeiflow.journal compact "$PARTITIONS" "${FORGET[@]}" max.message.bytes=8388608
create imeiflow.pending.changelog compact "$PARTITIONS" "${FORGET[@]}"
create imei.verify.results delete "$PARTITIONS" retention.ms=$((30 * DAY))
create bdik.confirmations compact "$PARTITIONS" "${FORGET[@]}"
create bdik.revocations compact "$PARTITIONS" "${FORGET[@]}"
create imei.verify.dlq delete "$PARTITIONS" retention.ms=$((7 * DAY))
create kgd.release.decisions delete "$PARTITIONS" retention.ms=$((1095 * DAY))
create imeiflow.tac compact "$PARTITIONS"
create imeiflow.blocklist compact "$PARTITIONS"
create imeiflow.local-production compact "$PARTITIONS"
create imeiflow.tokens compact 1
create imeiflow.audit delete 1 retention.ms=-1
create imeiflow.exports compact 1
$KT --bootstrap-server "$BOOTSTRAP" --describe | grep -E '^Topic:' || true
