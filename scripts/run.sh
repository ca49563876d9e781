#!/bin/sh
# run.sh — installs what is missing, builds durata and starts `durata serve`
# in the foreground: 127.0.0.1:8080, store ./durata.db, the demo job types
# (echo, sleep, fail, thumbnail). It prints the URL and a curl line to try;
# Ctrl-C stops it cleanly. Arguments go to `durata serve`, e.g.
#   scripts/run.sh --listen 127.0.0.1:9090 --store /tmp/jobs.db
# (DURATA_LISTEN, DURATA_STORE and DURATA_API_KEY work too.)
set -eu
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
scripts/deps.sh
mkdir -p build
echo "building durata (log: build/build.log) ..."
if ! { cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo &&
       cmake --build build --target durata_bin -j"$(nproc 2>/dev/null || echo 2)"; } \
       >build/build.log 2>&1; then
    tail -n 40 build/build.log >&2
    echo "run.sh: the build failed (full log: build/build.log)" >&2
    exit 1
fi
exec build/durata serve "$@"
