#!/bin/bash
# Makes the secrets the compose stack mounts (as production would, files under /run/secrets), in
# deploy/compose/secrets/ (ignored by git; never commit them). Run once before `docker compose up`:
#   deploy/compose/make-secrets.sh
# A local CA signs the control plane's certificate and stands in for the national CA that signs
# people's client certificates; a person's certificate (IIN in the subject's serial number):
#   deploy/compose/make-secrets.sh person 880101300123 "NURLANOVA AIGUL"
set -euo pipefail
cd "$(dirname "$0")"
mkdir -p secrets
cd secrets
umask 077

ec_key() { openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:prime256v1 -out "$1"; }

if [[ "${1:-}" == person ]]; then
  iin="$2" name="$3"
  ec_key "person-$iin.key"
  openssl req -new -key "person-$iin.key" -subj "/CN=$name/serialNumber=IIN$iin/C=KZ" -out "person-$iin.csr"
  printf 'extendedKeyUsage=clientAuth\n' >person.ext
  openssl x509 -req -in "person-$iin.csr" -CA ca.crt -CAkey ca.key -CAcreateserial -days 365 \
    -extfile person.ext -out "person-$iin.crt"
  echo "secrets/person-$iin.crt and .key: add IIN $iin to http.tls.clientCertificates"
  exit 0
fi

[[ -f ca.key ]] || {
  ec_key ca.key
  openssl req -x509 -key ca.key -subj '/CN=imeiflow compose CA' -days 3650 -out ca.crt \
    -addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign,cRLSign
}
# The control plane's certificate: the names Prometheus and people reach it by.
ec_key http-tls.key
openssl req -new -key http-tls.key -subj '/CN=imeiflow' -out http-tls.csr
printf 'subjectAltName=DNS:imeiflow-1,DNS:imeiflow-2,DNS:localhost,IP:127.0.0.1\nextendedKeyUsage=serverAuth\n' >http.ext
openssl x509 -req -in http-tls.csr -CA ca.crt -CAkey ca.key -CAcreateserial -days 825 -extfile http.ext \
  -out http-tls.crt
cp ca.crt client-ca.crt
# Kafka: imeiflow's SASL password, and the brokers' JAAS file that knows it.
[[ -f kafka-sasl-password ]] || openssl rand -base64 24 | tr -d '\n' >kafka-sasl-password
printf 'KafkaServer {\n  org.apache.kafka.common.security.plain.PlainLoginModule required\n  user_imeiflow="%s";\n};\n' \
  "$(cat kafka-sasl-password)" >kafka_server_jaas.conf
# The LMDB encryption key: 32 characters. Keep it: the stores cannot be read without it.
[[ -f store.key ]] || openssl rand -base64 24 | tr -d '\n' >store.key
# The cluster key: signs the tokens and audit topics' events; every instance and CLI host holds
# the same file (rotating it: docs/control-plane.md, "Internal topics carry proof").
[[ -f cluster.key ]] || openssl rand -base64 32 >cluster.key
# Compose bind-mounts these files with their host permissions; the containers run as other users.
chmod 0444 ca.crt client-ca.crt http-tls.crt http-tls.key kafka-sasl-password kafka_server_jaas.conf store.key cluster.key
rm -f ./*.csr ./*.ext
ls -l
