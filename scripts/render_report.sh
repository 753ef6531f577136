#!/usr/bin/env bash
# Render a report as a reader sees it: headless Chromium opens the HTML and saves a screenshot.
#
#   scripts/render_report.sh REPORT.html|STORE.zarr OUT.png [WIDTH [HEIGHT]]
#
# A results store is first reported (`jkn-risk report STORE --out <temporary folder>`); a stress
# folder's stress_report.html or a run's report.html is opened as it is. The page is drawn in a
# WIDTH x HEIGHT window (default 1280 x 14000: the whole of a run report) into OUT.png.
# Needs Chromium (Debian: apt-get update && apt-get install -y chromium).
set -euo pipefail

if [ $# -lt 2 ]; then
    sed -n '2,9p' "$0" | sed 's/^# \{0,1\}//' >&2
    exit 2
fi
src=$1
out=$(realpath -m "$2")
width=${3:-1280}
height=${4:-14000}

browser=$(command -v chromium || command -v chromium-browser || command -v google-chrome || true)
if [ -z "$browser" ]; then
    echo "render_report.sh: no Chromium found; install it: apt-get update && apt-get install -y chromium" >&2
    exit 2
fi

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
if [ -d "$src" ]; then                       # a results store: write its report first
    jkn-risk report "$src" --out "$work/report" >&2
    html=$work/report/report.html
else
    html=$(realpath "$src")
fi
[ -f "$html" ] || { echo "render_report.sh: $html: no such file" >&2; exit 2; }

mkdir -p "$(dirname "$out")"
"$browser" --headless --no-sandbox --disable-gpu --disable-background-networking \
    --disable-component-update --disable-sync --no-first-run --hide-scrollbars \
    --user-data-dir="$work/profile" --window-size="$width,$height" \
    --screenshot="$out" "file://$html" >"$work/chromium.log" 2>&1 || {
        tail -5 "$work/chromium.log" >&2; exit 1; }
[ -s "$out" ] || { echo "render_report.sh: Chromium wrote no screenshot" >&2; tail -5 "$work/chromium.log" >&2; exit 1; }
echo "$out"
