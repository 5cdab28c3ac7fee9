#!/usr/bin/env bash
# Apache Kafka 4.x in KRaft mode (one combined broker+controller node),
# assembled from Maven Central jars. Usage: kafka.sh start|stop|status|url
source "$(dirname "$0")/common.sh"

require_binaries() {
  command -v java >/dev/null || die "java not found — Kafka 4.x needs Java 17+ (run 'make setup' or apt-get install openjdk-17-jre-headless)"
  command -v mvn >/dev/null || die "mvn not found — Kafka's jars come from Maven Central through Maven (run 'make setup' or apt-get install maven)"
  local major
  major="$(java -XshowSettings:properties -version 2>&1 | awk -F'= ' '/java.specification.version/ {print $2}')"
  [ "${major%%.*}" -ge 17 ] 2>/dev/null || die "Kafka 4.x needs Java 17+, found $major"
}

fetch_jars() {
  [ -f "$KAFKA_LIBS/.complete" ] && return 0
  log "fetching Kafka $KAFKA_VERSION jars from Maven Central into $KAFKA_LIBS"
  rm -rf "$KAFKA_LIBS"; mkdir -p "$KAFKA_LIBS"
  mvn -B -q -Dstyle.color=never -f "$ROOT/deploy/local/kafka-pom.xml" -Dkafka.version="$KAFKA_VERSION" \
    dependency:copy-dependencies -DoutputDirectory="$KAFKA_LIBS" -DincludeScope=runtime \
    || die "mvn could not fetch org.apache.kafka:kafka_2.13:$KAFKA_VERSION"
  touch "$KAFKA_LIBS/.complete"
}

write_properties() {
  mkdir -p "$KAFKA_DATA"
  cat > "$KAFKA_HOME/server.properties" <<PROPS
# Written by deploy/local/kafka.sh: a single combined broker+controller node.
process.roles=broker,controller
node.id=1
controller.quorum.bootstrap.servers=127.0.0.1:$KAFKA_CONTROLLER_PORT
listeners=PLAINTEXT://127.0.0.1:$KAFKA_PORT,CONTROLLER://127.0.0.1:$KAFKA_CONTROLLER_PORT
advertised.listeners=PLAINTEXT://127.0.0.1:$KAFKA_PORT,CONTROLLER://127.0.0.1:$KAFKA_CONTROLLER_PORT
controller.listener.names=CONTROLLER
inter.broker.listener.name=PLAINTEXT
listener.security.protocol.map=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT
log.dirs=$KAFKA_DATA
num.partitions=1
# One node: the internal topics cannot have 3 replicas or an ISR of 2.
offsets.topic.replication.factor=1
offsets.topic.num.partitions=4
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
transaction.state.log.num.partitions=4
share.coordinator.state.topic.replication.factor=1
share.coordinator.state.topic.min.isr=1
min.insync.replicas=1
default.replication.factor=1
# Consumers join at once instead of waiting 3 s for more members.
group.initial.rebalance.delay.ms=0
# WAVE creates its topics explicitly with their partition counts.
auto.create.topics.enable=false
log.retention.hours=168
PROPS
}

pid_alive() { [ -f "$KAFKA_PID" ] && kill -0 "$(cat "$KAFKA_PID")" 2>/dev/null; }

start() {
  require_binaries
  if pid_alive; then
    log "Kafka already running (pid $(cat "$KAFKA_PID"))"
  else
    port_open "$KAFKA_PORT" && die "port $KAFKA_PORT is taken by another process; set WAVE_KAFKA_PORT"
    fetch_jars
    write_properties
    local java_opts=(-Xms256m -Xmx768m -XX:+UseG1GC -XX:MaxGCPauseMillis=20
      -XX:InitiatingHeapOccupancyPercent=35 -Djava.awt.headless=true
      "-Dlog4j2.configurationFile=$ROOT/deploy/local/kafka-log4j2.properties"
      -cp "$KAFKA_LIBS/*")
    if [ ! -f "$KAFKA_DATA/meta.properties" ]; then
      local cluster_id
      cluster_id="$(java "${java_opts[@]}" kafka.tools.StorageTool random-uuid 2>/dev/null | tail -1)"
      java "${java_opts[@]}" kafka.tools.StorageTool format --standalone -t "$cluster_id" \
        -c "$KAFKA_HOME/server.properties" >"$KAFKA_HOME/format.log" 2>&1 \
        || die "formatting the KRaft storage failed; see $KAFKA_HOME/format.log"
    fi
    nohup java "${java_opts[@]}" kafka.Kafka "$KAFKA_HOME/server.properties" >"$KAFKA_LOG" 2>&1 &
    echo $! > "$KAFKA_PID"
  fi
  # Ready once the broker has registered and serves the listener.
  local i=0
  until grep -q "Kafka Server started" "$KAFKA_LOG" 2>/dev/null && port_open "$KAFKA_PORT"; do
    pid_alive || die "Kafka exited during start-up; see $KAFKA_LOG"
    i=$((i + 1)); [ "$i" -ge 600 ] && die "Kafka did not start within 120 s; see $KAFKA_LOG"
    sleep 0.2
  done
  log "Kafka ready: $(kafka_bootstrap)"
}

stop() {
  if pid_alive; then
    local pid; pid="$(cat "$KAFKA_PID")"
    kill "$pid"
    local i=0
    while kill -0 "$pid" 2>/dev/null; do
      i=$((i + 1))
      if [ "$i" -ge 150 ]; then log "Kafka did not stop in 30 s; killing"; kill -9 "$pid" 2>/dev/null || true; fi
      sleep 0.2
    done
    log "Kafka stopped"
  else
    log "Kafka not running"
  fi
  rm -f "$KAFKA_PID"
}

case "${1:-}" in
  start) start ;;
  stop) stop ;;
  status) if pid_alive; then echo "running $(kafka_bootstrap)"; else echo "stopped"; exit 1; fi ;;
  url) kafka_bootstrap ;;
  *) die "usage: kafka.sh start|stop|status|url" ;;
esac
