#!/bin/sh
# Copy the built files Data Docs need from node_modules/ into vendor/ (see README.md).
set -eu
rm -rf vendor && mkdir -p vendor
n=node_modules
cp_to() { mkdir -p "vendor/$1"; shift_dir="$1"; shift; for f in "$@"; do cp "$n/$f" "vendor/$shift_dir/"; done; }
cp_to bootstrap bootstrap/dist/css/bootstrap.min.css bootstrap/dist/js/bootstrap.min.js bootstrap/LICENSE
cp_to jquery jquery/dist/jquery.min.js jquery/LICENSE.txt
cp_to popper.js popper.js/dist/umd/popper.min.js popper.js/package.json
cp_to bootstrap-table bootstrap-table/dist/bootstrap-table.min.css bootstrap-table/dist/bootstrap-table.min.js \
  bootstrap-table/dist/extensions/filter-control/bootstrap-table-filter-control.min.css \
  bootstrap-table/dist/extensions/filter-control/bootstrap-table-filter-control.min.js bootstrap-table/LICENSE
cp_to bootstrap-datepicker bootstrap-datepicker/dist/css/bootstrap-datepicker.min.css \
  bootstrap-datepicker/dist/js/bootstrap-datepicker.min.js bootstrap-datepicker/LICENSE
cp_to bootstrap-dark @forevolve/bootstrap-dark/dist/css/bootstrap-prefers-dark.css @forevolve/bootstrap-dark/LICENSE
cp_to vega vega/build/vega.min.js vega/LICENSE vega-lite/build/vega-lite.min.js vega-embed/build/vega-embed.min.js
cp $n/vega-lite/LICENSE vendor/vega/LICENSE.vega-lite
cp $n/vega-embed/LICENSE vendor/vega/LICENSE.vega-embed
mkdir -p vendor/fontawesome/css vendor/fontawesome/webfonts
cp $n/@fortawesome/fontawesome-free/css/all.min.css vendor/fontawesome/css/
cp $n/@fortawesome/fontawesome-free/webfonts/*.woff2 vendor/fontawesome/webfonts/
cp $n/@fortawesome/fontawesome-free/LICENSE.txt vendor/fontawesome/
