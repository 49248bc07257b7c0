#!/usr/bin/env bash
# Integration tests: real Go fixtures, real uprobes, assertions on what the
# user sees (NDJSON and text output, exit statuses). Needs root.
# Environment: GMW (the gomapwatch binary), GMW_FIXTURES (scripts/build-fixtures.sh),
# OTELCOL (scripts/build-otelcol.sh), K8SCHECK (scripts/build-k8scheck.sh).
# Under CI=true a skipped test is a failure: CI machines can run them all.
set -uo pipefail

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
: "${GMW:?set GMW to the gomapwatch binary}" "${GMW_FIXTURES:?set GMW_FIXTURES}"
work=$(mktemp -d /tmp/gmw-it.XXXXXX)
trap 'kill $(jobs -p) 2>/dev/null; rm -rf "$work"' EXIT
pass=0 fail=0 skip=0
failed=()

# shellcheck source=lib.sh
. "$here/lib.sh"
# shellcheck source=otelcol.sh
. "$here/otelcol.sh"

if [ "$(id -u)" -ne 0 ]; then
	skip_or_fail "integration tests need root (uprobes, BPF)"
	exit $([ "$fail" -eq 0 ] && echo 0 || echo 1)
fi

. "$here/tests.sh"

while read -r tag version; do
	fx=$GMW_FIXTURES/$tag
	echo "--- $tag ($version)"
	run "$tag-racy-conflicts" t_racy_conflicts "$fx"
	run "$tag-racy-text" t_racy_text "$fx"
	run "$tag-locked-zero-conflicts" t_locked "$fx"
	run "$tag-stackgrow-unchanged" t_stackgrow "$fx"
	run "$tag-fatal-event" t_fatal "$fx"
	run "$tag-keys" t_keys "$fx"
	run "$tag-flight-recorder" t_flight_recorder "$fx"
	run "$tag-summary-sites" t_summary_sites "$fx"
	run "$tag-stack-truncated" t_stack_truncated "$fx"
	run "$tag-iterate-range-line" t_iterate "$fx"
	run "$tag-traceback-compare" t_traceback_compare "$fx" "$version" deepinline
	run "$tag-traceback-compare-stripped" t_traceback_compare "$fx" "$version" deepinline.stripped
	run "$tag-attach-pid" t_attach_pid "$fx"
	run "$tag-attach-detach-locked" t_attach_locked "$fx"
	run "$tag-pie-stripped" t_pie_stripped "$fx"
	run "$tag-panics" t_panics "$fx"
	run "$tag-inspect" t_inspect "$fx" "$version"
	run "$tag-read-write" t_read_write "$fx"
	run "$tag-reads-locked" t_reads "$fx"
	run "$tag-kernel-fallbacks" t_kernel_fallbacks "$fx"
	run "$tag-otlp" t_otlp "$fx"
	run "$tag-budget-locked-windows" t_budget_locked "$fx"
	run "$tag-budget-recall" t_budget_recall "$fx"
done <"$GMW_FIXTURES/toolchains.txt"

tag=$(tail -n 1 "$GMW_FIXTURES/toolchains.txt" | cut -d' ' -f1)
echo "--- lifecycle and bad input ($tag)"
run signal-detach t_signal_detach "$GMW_FIXTURES/$tag"
run duration t_duration "$GMW_FIXTURES/$tag"
run command-killed t_cmd_signal "$GMW_FIXTURES/$tag"
run binary-all-processes t_binary "$GMW_FIXTURES/$tag"
run binary-in-container t_binary_in_container "$GMW_FIXTURES/$tag"
run binary-pie-exited t_pie_exited "$GMW_FIXTURES/$tag"
run binary-pid-reuse t_pid_reuse "$GMW_FIXTURES/$tag"
run unknown-version t_unknown_version "$GMW_FIXTURES/$tag"
run deleted-and-namespaced t_deleted_and_namespaced "$GMW_FIXTURES/$tag"
run stress t_stress "$GMW_FIXTURES/$tag"
run kernel-features t_kernel_features
run probes-gone t_probes_gone "$GMW_FIXTURES/$tag"
run target-execs t_exec "$GMW_FIXTURES/$tag"
run target-exits-attaching t_exit_attaching "$GMW_FIXTURES/$tag"
run target-children t_children "$GMW_FIXTURES/$tag"
run two-tracers-racy t_two_tracers "$GMW_FIXTURES/$tag"
run output-fails t_output_fails "$GMW_FIXTURES/$tag"
run verbose-times t_verbose_times "$GMW_FIXTURES/$tag"
run budget-sampling t_budget_sampling "$GMW_FIXTURES/$tag"
run budget-defaults t_budget_defaults "$GMW_FIXTURES/$tag"
run budget-racy t_budget_racy "$GMW_FIXTURES/$tag"
run help t_help
run install t_install
run otelcol t_otelcol
run daemonset t_daemonset
run otlp-collector-restart t_otlp_restart "$GMW_FIXTURES/$tag"
run otlp-collector-unreachable t_otlp_unreachable "$GMW_FIXTURES/$tag"
run otlp-bad-arguments t_otlp_bad_args "$GMW_FIXTURES/$tag"
run bad-pid t_bad_pid
run not-go-pid t_not_go_pid
run not-elf t_not_elf
run foreign-arch t_foreign_arch "$GMW_FIXTURES/$tag"
run no-map-functions t_no_maps
run not-root t_not_root "$GMW_FIXTURES/$tag"
run capabilities t_capabilities "$GMW_FIXTURES/$tag"
run bad-arguments t_bad_args

echo "--- release x build-mode matrix"
"$here/matrix.sh" || { fail=$((fail + 1)); failed+=(matrix); }

echo "integration: $pass passed, $fail failed, $skip skipped"
[ "$fail" -eq 0 ] || { printf '  failed: %s\n' "${failed[@]}"; exit 1; }
