#!/bin/sh
# check-style.sh — durata's style gate.
#
# Checks every tracked or untracked (not ignored) .c/.h file under src/,
# include/, tests/, examples/ and bench/:
#   (a) clang-format --dry-run --Werror against the repository .clang-format;
#   (b) none of the banned unsafe calls sprintf( strcpy( strcat( atoi( gets(
#       (matched on a word boundary, so snprintf( and fgets( are fine).
# Prints every problem and exits 1, or prints "style: ok" and exits 0.
# Usage: scripts/check-style.sh   (from anywhere inside the repository)
set -u

root=$(git rev-parse --show-toplevel 2>/dev/null) || {
    echo "style: not inside a git repository" >&2
    exit 2
}
cd "$root" || exit 2

clang_format=${CLANG_FORMAT:-clang-format}
if ! command -v "$clang_format" >/dev/null 2>&1; then
    echo "style: $clang_format not found (set CLANG_FORMAT)" >&2
    exit 2
fi

list=$(mktemp) || exit 2
trap 'rm -f "$list"' EXIT INT TERM

# Deleted-but-tracked files are still listed by git; keep only those present.
git ls-files -co --exclude-standard -z -- src include tests examples bench |
    tr '\0' '\n' | grep -E '\.[ch]$' | while IFS= read -r f; do
        [ -f "$f" ] && printf '%s\n' "$f"
    done >"$list"

status=0

# (a) formatting. Each offending file is named with clang-format's diagnostics.
while IFS= read -r f; do
    if ! out=$("$clang_format" --dry-run --Werror "$f" 2>&1); then
        echo "style: $f is not clang-formatted (run: clang-format -i $f)"
        printf '%s\n' "$out" | head -n 20
        status=1
    fi
done <"$list"

# (b) banned functions.
banned='\b(sprintf|strcpy|strcat|atoi|gets)[[:space:]]*\('
while IFS= read -r f; do
    if hits=$(grep -nE "$banned" "$f"); then
        printf '%s\n' "$hits" | while IFS=: read -r n text; do
            echo "style: $f:$n: banned call (use snprintf, memcpy, strtol, fgets):$text"
        done
        status=1
    fi
done <"$list"

if [ "$status" -ne 0 ]; then
    echo "style: FAILED"
    exit 1
fi
echo "style: ok"
