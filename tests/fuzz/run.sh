#!/usr/bin/env bash
# run.sh: builds the libFuzzer targets (make fuzz) and runs each one for a
# bounded time from its seed corpus (tests/fuzz/corpus/<target>). New inputs
# and crash artifacts go to a temporary folder, never into the repository.
# Prints "fuzz ok <target>" per clean target; exits non-zero on any finding.
# FUZZ_TOTAL_S: the time for all targets together (default 40 s, at most
# 10 s each); FUZZ_KEEP=1 keeps the temporary folder.
set -uo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
cd "$ROOT"
T=$(mktemp -d /tmp/fsfuzz.XXXXXX)
cleanup() { if [ "${FUZZ_KEEP:-0}" = 1 ] || [ "${failed:-0}" != 0 ]; then echo "kept $T"; else rm -rf "$T"; fi; }
trap cleanup EXIT

if ! command -v clang >/dev/null; then
	echo "fuzz: clang is missing (make deps installs it)"; exit 1
fi
if ! make fuzz > "$T/build.log" 2>&1; then
	tail -30 "$T/build.log"; echo "fuzz: build failed"; failed=1; exit 1
fi

targets=$(cd build/fuzz/fuzz && ls fuzz_* 2>/dev/null)
n=$(echo "$targets" | wc -w)
[ "$n" -gt 0 ] || { echo "fuzz: no targets"; exit 1; }
each=$(( ${FUZZ_TOTAL_S:-40} / n ))
[ "$each" -le 10 ] || each=10
[ "$each" -ge 1 ] || each=1

export ASAN_OPTIONS="detect_leaks=1:abort_on_error=0:halt_on_error=1"
export UBSAN_OPTIONS="halt_on_error=1:print_stacktrace=1"
failed=0
for t in $targets; do
	name=${t#fuzz_}
	mkdir -p "$T/$name/new" "$T/$name/crash"
	seeds=tests/fuzz/corpus/$name
	[ -d "$seeds" ] || seeds=
	# the first corpus folder is where libFuzzer writes: the temporary one
	if "build/fuzz/fuzz/$t" -max_total_time="$each" -timeout=5 -rss_limit_mb=2048 \
		-max_len=8192 -print_final_stats=1 -artifact_prefix="$T/$name/crash/" \
		"$T/$name/new" $seeds > "$T/$name/log" 2>&1; then
		runs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$T/$name/log" | grep -o '[0-9]*$')
		echo "fuzz ok $name (${runs:-?} runs in ${each}s)"
	else
		failed=1
		echo "fuzz FAILED $name: artifacts in $T/$name/crash"
		grep -E 'ERROR|runtime error|SUMMARY|#[0-9]+ 0x' "$T/$name/log" | head -25
	fi
done
exit $failed
