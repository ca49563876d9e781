#!/bin/sh
# cpu_split.sh — where the machine's time goes a job of `durata serve`,
# kernel included: perf samples every CPU while bench_http drives the server
# and the samples are sorted into the parts of a request's path, each given
# in microseconds of one core a job. Answers "how much of a job is ours at
# all": the load generator, libmicrohttpd and the kernel's TCP, SQLite and
# the kernel's file work, the allocator, durata's own code, idle.
#
#   bench/cpu_split.sh [--bin DURATA] [--phase accept|e2e] [--n N] [--seconds S]
#
# Defaults: the accept phase, N = 200000 (the run must outlast the window),
# a window of S = 4 seconds starting 2.5 s into the run. Needs perf with
# system-wide sampling (root, or kernel.perf_event_paranoid <= 0).
# A job's microseconds = share of the samples x CPUs / (jobs a second), with
# the rate bench_http reports for the whole phase; the parts add up to the
# whole machine, idle included.
set -eu
here=$(cd "$(dirname "$0")/.." && pwd)
bin=$here/build-bench/durata
phase=accept
n=200000
secs=4
while [ $# -gt 0 ]; do
    case $1 in
    --bin) bin=$2; shift 2 ;;
    --phase) phase=$2; shift 2 ;;
    --n) n=$2; shift 2 ;;
    --seconds) secs=$2; shift 2 ;;
    *) echo "usage: $0 [--bin DURATA] [--phase accept|e2e] [--n N] [--seconds S]" >&2; exit 2 ;;
    esac
done
command -v perf >/dev/null || { echo "cpu_split.sh: perf is not installed" >&2; exit 1; }
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
"$here/build-bench/bench/bench_http" --only "$phase" --n "$n" --bin "$bin" >"$work/bench.log" 2>&1 &
bench=$!
sleep 2.5
perf record -a -F 2000 -o "$work/perf.data" -- sleep "$secs" >/dev/null 2>&1
wait "$bench" || { cat "$work/bench.log" >&2; exit 1; }
rate=$(awk '/^(jobs accepted\/s|end-to-end no-op)/ { sub(/^[^:]*: */, ""); print $1; exit }' "$work/bench.log")
[ -n "$rate" ] || { echo "cpu_split.sh: no rate in bench_http's output" >&2; exit 1; }
cpus=$(nproc)
echo "$phase: $rate jobs/s on $cpus CPUs: $(awk -v r="$rate" -v c="$cpus" 'BEGIN { printf "%.1f", c / r * 1e6 }') µs of a core a job in all"
perf report -i "$work/perf.data" --sort comm,dso,sym --stdio 2>/dev/null | awk -v rate="$rate" -v cpus="$cpus" '
    /^#/ || NF < 4 { next }
    {
        pct = $1; sub("%", "", pct)
        comm = $2; dso = $3; sym = $NF
        if (comm == "swapper") part = "idle (interrupts taken while idle included)"
        else if (comm == "bench_http") part = "load generator (bench_http)"
        else if (dso ~ /libc/ && sym ~ /malloc|_int_free|cfree|calloc|realloc|unlink_chunk|consolidate|tcache/)
            part = "allocator (malloc/free)"
        else if (dso ~ /sqlite/) part = "SQLite"
        else if (dso ~ /microhttpd/) part = "libmicrohttpd"
        else if (comm ~ /MHD/ && dso ~ /kernel/) part = "kernel on libmicrohttpd threads (TCP, epoll, wake-ups)"
        else if (comm ~ /^dt-(commit|sync|checkpoint)|kworker/ && dso ~ /kernel/)
            part = "kernel on store threads (WAL writes, fsync, checkpoint, wake-ups)"
        else if (dso ~ /durata/) part = "durata"
        else if (dso ~ /libc/) part = "other libc (mem*, str*, printf)"
        else if (dso ~ /kernel/) part = "kernel, other threads"
        else part = "other"
        share[part] += pct
    }
    END { for (p in share) printf "%6.2f %%  %6.1f µs  %s\n", share[p], share[p] / 100 * cpus / rate * 1e6, p }' |
    sort -rn
