#!/usr/bin/env bash
# Run libFuzzer targets: fuzz-run.sh DIR SECONDS TARGET...
# DIR holds the binaries (DIR/fuzz_TARGET) and the seeds (DIR/seeds/TARGET,
# scripts/fuzz-seeds.sh). Each target first replays its regression inputs
# (tests/fuzz/regress/TARGET), then runs SECONDS seconds with new inputs
# kept in DIR/corpus/TARGET and crashers written to DIR/crash/TARGET.
# FUZZ_FRESH=1 starts from the seeds alone in an emptied DIR/smoke/TARGET, so
# the time a run takes does not grow with what earlier runs kept.
# Fails when any target finds anything.
set -uo pipefail

dir=$1 secs=$2
shift 2
regress=$(dirname "$0")/../tests/fuzz/regress
failed=()

# What a target reads of an input: whole binaries for elf, a pclntab
# section for pclntab, a blob or a function body for the others.
max_len() {
	case $1 in
	elf) echo 4194304 ;;
	pclntab) echo 2097152 ;;
	*) echo 65536 ;;
	esac
}

# Leak checks after every run cost the megabyte inputs most of their speed:
# those targets check for leaks once per input in the replay instead.
leaks() {
	case $1 in
	elf | pclntab) echo 0 ;;
	*) echo 1 ;;
	esac
}

for t in "$@"; do
	bin=$dir/fuzz_$t
	corpus=$dir/corpus/$t crash=$dir/crash/$t log=$dir/$t.log
	if [ "${FUZZ_FRESH:-0}" = 1 ]; then
		corpus=$dir/smoke/$t
		rm -rf "$corpus"
	fi
	mkdir -p "$corpus" "$crash" "$dir/seeds/$t"
	opts=(-rss_limit_mb=4096 -timeout=30 -max_len="$(max_len "$t")"
	      -artifact_prefix="$crash/" -print_final_stats=1)
	shopt -s nullglob
	old=("$regress/$t"/*)
	seeds=("$dir/seeds/$t"/*)
	shopt -u nullglob
	# each input once, leaks checked: the regressions, then the seeds
	if [ ${#old[@]} -gt 0 ] && ! "$bin" "${opts[@]}" "${old[@]}" >"$log" 2>&1; then
		echo "fuzz $t: a regression input fails again (see $log)" >&2
		failed+=("$t")
		continue
	fi
	if [ ${#seeds[@]} -gt 0 ] && ! "$bin" "${opts[@]}" "${seeds[@]}" >>"$log" 2>&1; then
		echo "fuzz $t: a seed fails (see $log)" >&2
		failed+=("$t")
		continue
	fi
	start=$SECONDS
	if ! "$bin" "${opts[@]}" -detect_leaks="$(leaks "$t")" -max_total_time="$secs" \
		"$corpus" "$dir/seeds/$t" >>"$log" 2>&1; then
		echo "fuzz $t: finding in $crash (see $log)" >&2
		failed+=("$t")
	fi
	execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n1)
	cov=$(grep -o 'cov: [0-9]* ft: [0-9]*' "$log" | tail -n1)
	printf '  %-8s %-10s %ss, %s execs, %s, %s regression inputs\n' FUZZ "$t" \
		"$((SECONDS - start))" "${execs:-?}" "${cov:-cov: ?}" "${#old[@]}"
done
if [ ${#failed[@]} -gt 0 ]; then
	echo "fuzz: findings in ${failed[*]}" >&2
	exit 1
fi
