#!/usr/bin/env bash
# The report as a person sees it: headless Chromium (Debian's) opens report.html offline and
# takes a screenshot; the check fails unless the page rendered every figure it inlines and the
# screenshot is a real picture (a blank or error page compresses to a few kilobytes).
#   bash ci/report-check.sh results/smoke/<commit> [screenshot.png]
set -euo pipefail
dir="${1:?usage: ci/report-check.sh COMMIT_FOLDER [SCREENSHOT]}"
page="$(realpath "$dir/report.html")"
shot="${2:-$dir/report-screenshot.png}"
if ! command -v chromium >/dev/null; then
    sudo=""
    [ "$(id -u)" -eq 0 ] || sudo="sudo"
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq chromium >/dev/null
fi
profile="$(mktemp -d)"
trap 'rm -rf "$profile"' EXIT
# No network here: background fetches, sync and QUIC off (each would be refused, many times).
flags=(--headless --no-sandbox --disable-gpu --disable-quic --no-first-run --disable-background-networking
    --disable-component-update --disable-sync --hide-scrollbars --user-data-dir="$profile")
chromium "${flags[@]}" --window-size=1280,3000 --screenshot="$shot" "file://$page" 2>/dev/null
dom="$(chromium "${flags[@]}" --dump-dom "file://$page" 2>/dev/null)"
expected=$(ls "$dir"/figures/*.svg | wc -l)
rendered=$(grep -o '<svg' <<<"$dom" | wc -l)
bytes=$(stat -c %s "$shot")
echo "report page: $rendered of $expected figures in the rendered DOM; screenshot $shot, $bytes bytes"
[ "$expected" -gt 0 ] || { echo "no figures in $dir/figures" >&2; exit 1; }
[ "$rendered" -eq "$expected" ] || { echo "the page rendered $rendered figures, not $expected" >&2; exit 1; }
grep -q '<table>' <<<"$dom" || { echo "no table in the rendered page" >&2; exit 1; }
[ "$bytes" -gt 40000 ] || { echo "the screenshot is nearly empty ($bytes bytes)" >&2; exit 1; }
