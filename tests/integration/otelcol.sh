# A real OpenTelemetry Collector for the tests: what gomapwatch sends over
# OTLP/HTTP, as the collector received it. Sourced by run.sh.
# Environment: OTELCOL, the binary (scripts/build-otelcol.sh).
#
#   otelcol_start PORT DIR   config in DIR, collector listening on
#                            127.0.0.1:PORT (OTLP/HTTP, logs), its log in
#                            DIR/otelcol.log; returns once it takes POSTs
#   otelcol_stop             stops it; also done when the test exits
#   otelcol_records DIR      every log record it received, one compact JSON
#                            object per line (see otelcol_records below)

OTELCOL_PID=
# seconds to wait for the port, and for a stop, on a slow shared machine
OTELCOL_TIMEOUT=${OTELCOL_TIMEOUT:-30}

# otelcol_config PORT DIR: logs only, gRPC off. The file exporter appends,
# so a restart on the same DIR keeps what came before, and flushes often,
# so a test reads records shortly after they were sent. The collector's
# own metrics are off: they would listen on a fixed port (8888).
otelcol_config() {
	cat <<EOF
receivers:
  otlp:
    protocols:
      http:
        endpoint: 127.0.0.1:$1
exporters:
  file:
    path: $2/otelcol.jsonl
    append: true
    flush_interval: 100ms
service:
  telemetry:
    metrics:
      level: none
  pipelines:
    logs:
      receivers: [otlp]
      exporters: [file]
EOF
}

# otelcol_ready PORT: an empty export request is accepted (200) and
# exports nothing, so it shows the whole HTTP path is up
otelcol_ready() {
	[ "$(curl -s -o /dev/null -w '%{http_code}' --max-time 2 -X POST \
		-H 'Content-Type: application/json' --data '{}' \
		"http://127.0.0.1:$1/v1/logs")" = 200 ]
}

otelcol_start() {
	local port=$1 dir=$2 i
	: "${OTELCOL:?set OTELCOL to the collector (scripts/build-otelcol.sh)}"
	[ -z "$OTELCOL_PID" ] || die "otelcol_start: a collector is running already ($OTELCOL_PID)"
	# a collector left over from another test would answer for this one
	! (: <>"/dev/tcp/127.0.0.1/$port") 2>/dev/null ||
		die "otelcol_start: 127.0.0.1:$port is in use already"
	mkdir -p "$dir"
	otelcol_config "$port" "$dir" >"$dir/otelcol.yaml"
	"$OTELCOL" --config "$dir/otelcol.yaml" >>"$dir/otelcol.log" 2>&1 &
	OTELCOL_PID=$!
	# a test that fails (die, set -e) leaves by exit: take the collector
	# along, or it holds the port for the tests after it
	trap otelcol_stop EXIT
	for ((i = 0; i < OTELCOL_TIMEOUT * 10; i++)); do
		otelcol_ready "$port" && return 0
		kill -0 "$OTELCOL_PID" 2>/dev/null || {
			otelcol_stop
			die "otelcol_start: the collector exited; $dir/otelcol.log:
$(tail -20 "$dir/otelcol.log")"
		}
		sleep 0.1
	done
	otelcol_stop
	die "otelcol_start: no collector on 127.0.0.1:$port after ${OTELCOL_TIMEOUT}s; $dir/otelcol.log:
$(tail -20 "$dir/otelcol.log")"
}

# otelcol_stop: SIGTERM (the exporter flushes its file on shutdown), then
# SIGKILL if it is still there after the timeout
otelcol_stop() {
	local pid=$OTELCOL_PID i
	[ -n "$pid" ] || return 0
	OTELCOL_PID=
	kill -TERM "$pid" 2>/dev/null || true
	for ((i = 0; i < OTELCOL_TIMEOUT * 10; i++)); do
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.1
	done
	kill -KILL "$pid" 2>/dev/null || true
	wait "$pid" 2>/dev/null || true
}

# otelcol_records DIR: one object per log record, in the order received:
# the record's own fields as OTLP/JSON has them (timeUnixNano, severityNumber,
# severityText, eventName, traceId, ...), with
#   body        its value, plain: "text", 42, true, [..], {..}
#   attributes  an object of plain values ({"goroutine": 22, ...})
#   resource    the resource's attributes, likewise ({"service.name": ...})
#   scope       the instrumentation scope ({"name": ..., "version": ...})
# intValue (a string in OTLP/JSON) becomes a number: exact up to 2^53.
otelcol_records() {
	[ -s "$1/otelcol.jsonl" ] || return 0
	jq -c '
		def plain:
			def kv: map({key, value: (.value | plain)}) | from_entries;
			if has("stringValue") then .stringValue
			elif has("intValue") then (.intValue | tonumber)
			elif has("doubleValue") then .doubleValue
			elif has("boolValue") then .boolValue
			elif has("bytesValue") then .bytesValue
			elif has("arrayValue") then [.arrayValue.values[]? | plain]
			elif has("kvlistValue") then (.kvlistValue.values // [] | kv)
			else null end;
		def attrs: map({key, value: (.value | plain)}) | from_entries;
		.resourceLogs[]? | (.resource.attributes // [] | attrs) as $res
		| .scopeLogs[]? | (.scope // {}) as $scope
		| .logRecords[]?
		| . + {body: (.body // {} | plain), attributes: (.attributes // [] | attrs),
			resource: $res, scope: $scope}
	' "$1/otelcol.jsonl"
}
