#!/usr/bin/env bash
# Reproduces console/static/vendor/ from the npm registry: the exact versions in
# console/package.json, only their dist files (minified script, CSS, Leaflet's marker
# images) and each one's licence. The console is served as is: no build step at run time.
set -euo pipefail
cd "$(dirname "$0")/.."
OUT=console/static/vendor
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
cp console/package.json "$WORK/"
(cd "$WORK" && npm install --ignore-scripts --no-audit --no-fund --omit=dev --loglevel=error >/dev/null)
M="$WORK/node_modules"

rm -rf "$OUT"
mkdir -p "$OUT"/{preact,htm,leaflet/images,leaflet-geoman,uplot}
# Served without source maps: drop the comments pointing at them.
copy() { sed '/^\/\/# sourceMappingURL=/d; /^\/\*# sourceMappingURL=.*\*\/$/d; s#//\# sourceMappingURL=[^ ]*$##' "$1" >"$2"; }

copy "$M/preact/dist/preact.module.js" "$OUT/preact/preact.module.js"
# Browsers resolve no bare specifier without an import map (an inline script, which the
# console's Content-Security-Policy forbids): point hooks at the file beside it.
copy "$M/preact/hooks/dist/hooks.module.js" "$OUT/preact/hooks.module.js"
sed -i 's#from"preact"#from"./preact.module.js"#; s#from "preact"#from "./preact.module.js"#' \
  "$OUT/preact/hooks.module.js"
cp "$M/preact/LICENSE" "$OUT/preact/"
copy "$M/htm/dist/htm.module.js" "$OUT/htm/htm.module.js"
cp "$M/htm/LICENSE" "$OUT/htm/"
copy "$M/leaflet/dist/leaflet.js" "$OUT/leaflet/leaflet.js"
copy "$M/leaflet/dist/leaflet.css" "$OUT/leaflet/leaflet.css"
cp "$M/leaflet/dist/images/"*.png "$OUT/leaflet/images/"
cp "$M/leaflet/LICENSE" "$OUT/leaflet/"
copy "$M/@geoman-io/leaflet-geoman-free/dist/leaflet-geoman.min.js" "$OUT/leaflet-geoman/leaflet-geoman.min.js"
copy "$M/@geoman-io/leaflet-geoman-free/dist/leaflet-geoman.css" "$OUT/leaflet-geoman/leaflet-geoman.css"
cp "$M/@geoman-io/leaflet-geoman-free/LICENSE" "$OUT/leaflet-geoman/"
copy "$M/uplot/dist/uPlot.iife.min.js" "$OUT/uplot/uPlot.iife.min.js"
copy "$M/uplot/dist/uPlot.min.css" "$OUT/uplot/uPlot.min.css"
cp "$M/uplot/LICENSE" "$OUT/uplot/"
if grep -rq 'from"preact"\|from "preact"' "$OUT"; then
  echo "a bare 'preact' import is left in $OUT" >&2
  exit 1
fi
echo "vendored into $OUT:"
(cd "$OUT" && find . -type f | sort)
