#!/usr/bin/env bash
# Stops the local Docker daemon, Kafka and PostgreSQL; leaves their data under .wave/.
source "$(dirname "$0")/common.sh"
status=0
"$ROOT/deploy/local/docker.sh" stop || status=1
"$ROOT/deploy/local/kafka.sh" stop || status=1
"$ROOT/deploy/local/postgres.sh" stop || status=1
exit $status
