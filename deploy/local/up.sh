#!/usr/bin/env bash
# Starts the local PostgreSQL and Kafka (idempotent) and prints their URLs.
source "$(dirname "$0")/common.sh"
"$ROOT/deploy/local/postgres.sh" start
"$ROOT/deploy/local/kafka.sh" start
echo "WAVE_DATABASE_URL=$(database_url)"
echo "WAVE_KAFKA_BOOTSTRAP=$(kafka_bootstrap)"
