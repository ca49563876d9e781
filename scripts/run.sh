#!/bin/sh
# run.sh — installs what is missing, builds durata and runs the examples
# against a SQLite file, so a newcomer sees orchestrations at work.
# (Once `durata serve` exists this starts the server instead.)
set -eu
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
scripts/deps.sh
cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build -j"$(nproc 2>/dev/null || echo 2)"
mkdir -p run
for ex in sequence fanout approval retry; do
    echo "== examples/$ex.c"
    "build/examples/$ex" "run/$ex.db"
    echo
done
