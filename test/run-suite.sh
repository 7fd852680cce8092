#!/usr/bin/env bash
# The whole test suite (npm test runs it after tsc and the contract lint), in two tiers:
# - serial: test/e2e/** (unless marked `// @parallel: <why>`) and files marked `// @serial: <why>`:
#   they share the one real FreeSWITCH, spawn Crossline processes, or load the machine on purpose
#   (bursts, 2,000 calls), so they run one at a time;
# - the rest, two files at a time (most of their time is spent waiting on sockets and timers).
# Every file's process gets the file watchdog (test/support/file-watchdog.ts). Arguments are passed
# on to both runs (e.g. --test-name-pattern).
set -u
cd "$(dirname "$0")/.."
serial=()
parallel=()
while IFS= read -r file; do
  if grep -q '^// @serial' "$file" || { [[ $file == test/e2e/* ]] && ! grep -q '^// @parallel' "$file"; }; then
    serial+=("$file")
  else
    parallel+=("$file")
  fi
done < <(find test -name '*.test.ts' | sort)

run() {
  node --import tsx --import ./test/support/file-watchdog.ts --test --test-timeout=600000 --test-reporter=spec "$@"
}
run --test-concurrency=2 "$@" "${parallel[@]}"
first=$?
run --test-concurrency=1 "$@" "${serial[@]}"
second=$?
echo "test tiers: ${#parallel[@]} files two at a time (exit $first), ${#serial[@]} one at a time (exit $second)"
exit $(( first != 0 ? first : second ))
