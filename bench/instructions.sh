#!/bin/sh
# instructions.sh — user-space instructions a job of `durata serve`, counted
# by callgrind while bench_http drives it: a figure that does not move with
# the machine's speed, for comparing two builds on a VM whose speed drifts.
#
#   bench/instructions.sh [--bin DURATA] [--phase accept|e2e] [--n N]
#
# Defaults: the durata built next to bench_http in build-bench, the accept
# phase, N = 3000 (about 15 s under valgrind). Kernel time (TCP, fsync) is
# not counted, and under valgrind the threads take turns, so group commits
# are smaller than in a real run: compare builds with it, not with bench_http.
# libmicrohttpd's zeroing of each connection's memory (memset) is left out:
# valgrind counts each byte of `rep stosb` as an instruction.
set -eu
here=$(cd "$(dirname "$0")/.." && pwd)
bin=$here/build-bench/durata
phase=accept
n=3000
while [ $# -gt 0 ]; do
    case $1 in
    --bin) bin=$2; shift 2 ;;
    --phase) phase=$2; shift 2 ;;
    --n) n=$2; shift 2 ;;
    *) echo "usage: $0 [--bin DURATA] [--phase accept|e2e] [--n N]" >&2; exit 2 ;;
    esac
done
command -v valgrind >/dev/null || { echo "instructions.sh: valgrind is not installed" >&2; exit 1; }
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
bin=$(cd "$(dirname "$bin")" && pwd)/$(basename "$bin")
cat >"$work/durata" <<WRAP
#!/bin/sh
exec valgrind --tool=callgrind --callgrind-out-file=$work/callgrind.out "$bin" "\$@"
WRAP
chmod +x "$work/durata"
"$here/build-bench/bench/bench_http" --only "$phase" --n "$n" --bin "$work/durata" >"$work/bench.log" 2>&1 ||
    { cat "$work/bench.log" >&2; exit 1; }
callgrind_annotate "$work/callgrind.out" 2>/dev/null | awk -v n="$n" -v phase="$phase" '
    /PROGRAM TOTALS/ { gsub(",", "", $1); total = $1 }
    /memset/ && !memset { gsub(",", "", $1); memset = $1 }
    END {
        if (!total) { print "instructions.sh: no callgrind totals" > "/dev/stderr"; exit 1 }
        printf "%s: %.0f instructions a job (%d jobs; memset left out: %.0f a job)\n",
               phase, (total - memset) / n, n, memset / n
    }'
