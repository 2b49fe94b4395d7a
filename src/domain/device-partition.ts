/**
 * Which partition owns a device: every decision about one device is made by the owner of this
 * partition, whatever key or partitioner the operator used (DESIGN.md §4, Delivery). The
 * partition of the 14-digit IMEI body under Kafka's default partitioner — murmur2 of the key's
 * bytes, as Java clients and librdkafka's `murmur2_random` compute it — so a request an operator
 * keys by the body with that partitioner already sits on its device's partition and takes no
 * extra hop through the repartition topic.
 */

/** Kafka's murmur2 (org.apache.kafka.common.utils.Utils.murmur2), on ASCII/Latin-1 text. */
export function murmur2(key: string): number {
  const length = key.length;
  const m = 0x5bd1e995;
  let h = 0x9747b28c ^ length;
  const whole = length & ~3;
  for (let i = 0; i < whole; i += 4) {
    let k =
      (key.charCodeAt(i) & 0xff) |
      ((key.charCodeAt(i + 1) & 0xff) << 8) |
      ((key.charCodeAt(i + 2) & 0xff) << 16) |
      ((key.charCodeAt(i + 3) & 0xff) << 24);
    k = Math.imul(k, m);
    k ^= k >>> 24;
    k = Math.imul(k, m);
    h = Math.imul(h, m) ^ k;
  }
  // The tail bytes, as the original's fall-through switch takes them.
  const tail = length & 3;
  if (tail > 0) {
    if (tail === 3) h ^= (key.charCodeAt(whole + 2) & 0xff) << 16;
    if (tail >= 2) h ^= (key.charCodeAt(whole + 1) & 0xff) << 8;
    h ^= key.charCodeAt(whole) & 0xff;
    h = Math.imul(h, m);
  }
  h ^= h >>> 13;
  h = Math.imul(h, m);
  h ^= h >>> 15;
  return h | 0;
}

/** The partition of a device (its 14-digit IMEI body) among `partitions`. */
export function devicePartition(body: string, partitions: number): number {
  return (murmur2(body) & 0x7fffffff) % partitions;
}
