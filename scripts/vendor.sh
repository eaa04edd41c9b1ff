#!/usr/bin/env bash
# vendor.sh: refreshes the third-party files the pages serve from static/vendor/
# (committed, so that `make run` needs no npm): uPlot, the dashboard's charts
# (MIT, https://github.com/leeoniya/uPlot), taken from its npm package.
set -euo pipefail
cd "$(dirname "$0")/.."
UPLOT_VERSION=1.6.32
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
(cd "$tmp" && npm pack "uplot@$UPLOT_VERSION" --silent >/dev/null && tar xzf "uplot-$UPLOT_VERSION.tgz")
mkdir -p static/vendor/uplot
cp "$tmp/package/dist/uPlot.iife.min.js" "$tmp/package/dist/uPlot.min.css" "$tmp/package/LICENSE" static/vendor/uplot/
echo "$UPLOT_VERSION" > static/vendor/uplot/VERSION
echo "vendor: uPlot $UPLOT_VERSION in static/vendor/uplot"
