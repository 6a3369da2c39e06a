#!/usr/bin/env bash
# Checks an open-data release folder (`innolab-initiatives export --out-dir
# DIR`) with the tools portals and data users run, installed from PyPI into a
# temporary venv at pinned versions:
# - every `*.jsonld` record parses as RDF (rdflib) and conforms to the DCAT-AP 3
#   shapes in scripts/opendata/dcat-ap-3.shapes.ttl (pyshacl), and the
#   catalogue lists every dataset;
# - every `*-metadata.json` CSVW document describes its CSV file, which
#   validates against it (csvw's csvwvalidate: columns, datatypes, rows);
# - each distribution's byte size and SHA-256 are the file's.
#
#   scripts/check-open-data.sh DIR
set -euo pipefail
PYSHACL_VERSION=0.40.1
CSVW_VERSION=4.1.1

if (($# != 1)); then
  echo "usage: $0 <release-folder>" >&2
  exit 2
fi
release=$(realpath "$1")
shapes=$(realpath "$(dirname "$0")/opendata/dcat-ap-3.shapes.ttl")
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
python3 -m venv "$work/venv"
"$work/venv/bin/pip" install -q --disable-pip-version-check \
  "pyshacl==$PYSHACL_VERSION" "csvw==$CSVW_VERSION"

for record in "$release"/*.jsonld; do
  if ! "$work/venv/bin/pyshacl" -s "$shapes" -sf turtle -df json-ld -f human "$record" \
    >"$work/report" 2>&1; then
    cat "$work/report"
    echo "$record: does not conform to DCAT-AP 3" >&2
    exit 1
  fi
  echo "ok   $(basename "$record") conforms to DCAT-AP 3 (pyshacl)"
done

for metadata in "$release"/*-metadata.json; do
  (cd "$release" && "$work/venv/bin/csvwvalidate" "$metadata")
  echo "ok   $(basename "$metadata") validates its CSV (csvwvalidate)"
done

"$work/venv/bin/python" - "$release" <<'PY'
import hashlib, os, sys, urllib.parse
import rdflib
from rdflib.namespace import DCAT, RDF

release = sys.argv[1]
graph = rdflib.Graph()
graph.parse(os.path.join(release, "catalogue.jsonld"), format="json-ld")
catalogues = list(graph.subjects(RDF.type, DCAT.Catalog))
datasets = list(graph.objects(catalogues[0], DCAT.dataset))
if len(catalogues) != 1 or not datasets:
    sys.exit(f"catalogue.jsonld: {len(catalogues)} catalogues, {len(datasets)} datasets")
SPDX = rdflib.Namespace("http://spdx.org/rdf/terms#")
checked = 0
for distribution in graph.subjects(RDF.type, DCAT.Distribution):
    url = str(graph.value(distribution, DCAT.downloadURL))
    name = os.path.basename(urllib.parse.urlparse(url).path)
    data = open(os.path.join(release, name), "rb").read()
    size = int(graph.value(distribution, DCAT.byteSize))
    digest = str(graph.value(graph.value(distribution, SPDX.checksum), SPDX.checksumValue))
    if size != len(data) or digest != hashlib.sha256(data).hexdigest():
        sys.exit(f"{name}: the record says {size} bytes, {digest}; the file differs")
    checked += 1
print(f"ok   the catalogue lists {len(datasets)} dataset(s); {checked} distributions match their files")
PY
echo "open data ok"
