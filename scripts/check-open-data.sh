#!/usr/bin/env bash
# Checks an open-data release folder (`innolab-<service> export --out-dir DIR`
# of membership, initiatives, guidance and impact) with the tools portals and
# data users run, installed from PyPI into a temporary venv at pinned versions:
# - every `*.jsonld` record parses as RDF (rdflib) and conforms to the DCAT-AP 3
#   shapes in scripts/opendata/dcat-ap-3.shapes.ttl (pyshacl), and the
#   catalogue lists every dataset;
# - every `*-metadata.json` CSVW document describes its CSV file, which
#   validates against it (csvw's csvwvalidate: columns, datatypes, rows);
# - each distribution's byte size and SHA-256 are the file's;
# - no file names a person (`people/...`);
# - `iati-activities.xml` (`innolab-gateway export-iati`), when present, is
#   valid against the official IATI 2.03 activity schema
#   (scripts/opendata/iati-2.03/, lxml), and names only initiatives of
#   initiatives.csv, and has its DCAT-AP record in the catalogue;
# - the network's W3C ORG graph and Popolo document link every membership
#   and post to organisations they hold;
# - the collections link up: each accepted submission's initiative, each
#   assessment's indicators and each indicator's measurements are in the
#   release, and every collection the suite exports is there (with
#   EXPECT_ALL=1, as CI runs it).
#
#   scripts/check-open-data.sh DIR
set -euo pipefail
PYSHACL_VERSION=0.40.1
CSVW_VERSION=4.1.1
LXML_VERSION=6.1.3

if (($# != 1)); then
  echo "usage: $0 <release-folder>" >&2
  exit 2
fi
release=$(realpath "$1")
shapes=$(realpath "$(dirname "$0")/opendata/dcat-ap-3.shapes.ttl")
iati_schema=$(realpath "$(dirname "$0")/opendata/iati-2.03/iati-activities-schema.xsd")
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
python3 -m venv "$work/venv"
"$work/venv/bin/pip" install -q --disable-pip-version-check \
  "pyshacl==$PYSHACL_VERSION" "csvw==$CSVW_VERSION" "lxml==$LXML_VERSION"

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

"$work/venv/bin/python" - "$release" "$iati_schema" <<'PY'
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

import csv
def rows(name):
    path = os.path.join(release, name)
    if not os.path.exists(path):
        return None
    return list(csv.DictReader(open(path, encoding="utf-8", newline="")))

if os.environ.get("EXPECT_ALL") == "1":
    expected = ["organizations", "groups", "memberships", "posts", "initiatives", "challenges",
                "calls", "submissions", "guidance", "assessments", "indicators", "measurements",
                "capacity_rounds"]
    listed = {str(graph.value(d, rdflib.URIRef("http://purl.org/dc/terms/identifier"))) for d in datasets}
    missing = [e for e in expected if e not in listed]
    if missing:
        sys.exit(f"catalogue.jsonld: no dataset {missing}")
    empty = [e for e in expected if not rows(f"{e}.csv")]
    if empty:
        sys.exit(f"no records in {empty}")
    print(f"ok   all {len(expected)} collections are in the catalogue, none empty")

# The collections link up.
initiatives, submissions = rows("initiatives.csv"), rows("submissions.csv")
if initiatives is not None and submissions is not None:
    names = {r["name"] for r in initiatives}
    for s in submissions:
        if s["initiative"] not in names:
            sys.exit(f"submissions.csv: {s['name']} became {s['initiative']}, not in initiatives.csv")
    print(f"ok   {len(submissions)} accepted submission(s), each an initiative of initiatives.csv")
assessments, indicators, measurements = rows("assessments.csv"), rows("indicators.csv"), rows("measurements.csv")
if assessments is not None:
    names = {r["name"] for r in assessments}
    counted = {}
    for m in measurements:
        counted[m["indicator"]] = counted.get(m["indicator"], 0) + 1
    for i in indicators:
        if i["assessment"] not in names:
            sys.exit(f"indicators.csv: {i['name']} belongs to {i['assessment']}, not in assessments.csv")
        if int(i["measurements"]) != counted.get(i["name"], 0):
            sys.exit(f"indicators.csv: {i['name']} says {i['measurements']} measurements, measurements.csv has {counted.get(i['name'], 0)}")
    print(f"ok   {len(indicators)} indicator(s) of {len(assessments)} completed assessment(s), with all {len(measurements)} measurement(s)")

# Nothing personal: no file names a person.
for name in sorted(os.listdir(release)):
    if b"people/" in open(os.path.join(release, name), "rb").read():
        sys.exit(f"{name}: names a person (people/...)")
print("ok   no file names a person")

# IATI activity XML 2.03: valid against the official schema, and every
# activity an initiative of the release.
iati_file = os.path.join(release, "iati-activities.xml")
if os.path.exists(iati_file):
    from lxml import etree
    schema = etree.XMLSchema(etree.parse(sys.argv[2]))
    document = etree.parse(iati_file)
    if not schema.validate(document):
        for error in schema.error_log:
            print(f"{error.line}: {error.message}")
        sys.exit("iati-activities.xml: not valid against the IATI 2.03 activity schema")
    activities = document.getroot().findall("iati-activity")
    results = document.getroot().findall("iati-activity/result")
    if initiatives is not None:
        ids = {r["name"].split("/", 1)[1] for r in initiatives}
        for a in activities:
            identifier = a.findtext("iati-identifier")
            if not any(identifier.endswith("-" + i) for i in ids):
                sys.exit(f"iati-activities.xml: {identifier} is no initiative of initiatives.csv")
    listed = {str(graph.value(d, rdflib.URIRef("http://purl.org/dc/terms/identifier"))) for d in datasets}
    if "iati-activities" not in listed:
        sys.exit("catalogue.jsonld: no dataset record for iati-activities.xml")
    print(f"ok   iati-activities.xml: {len(activities)} activities, {len(results)} results, valid IATI 2.03 (lxml), in the catalogue")
elif os.environ.get("EXPECT_ALL") == "1":
    sys.exit("no iati-activities.xml")

# The network as W3C ORG: every membership's member and group, and every
# post's group, is an organisation of the graph.
org_file = os.path.join(release, "organizations.org.jsonld")
if os.path.exists(org_file):
    import csv, json
    ORG = rdflib.Namespace("http://www.w3.org/ns/org#")
    org = rdflib.Graph()
    org.parse(org_file, format="json-ld")
    organisations = set(org.subjects(RDF.type, ORG.Organization))
    memberships = list(org.subjects(RDF.type, ORG.Membership))
    rows = list(csv.DictReader(open(os.path.join(release, "memberships.csv"), encoding="utf-8", newline="")))
    if len(memberships) != len(rows):
        sys.exit(f"organizations.org.jsonld: {len(memberships)} memberships, memberships.csv {len(rows)}")
    for m in memberships:
        for p in (ORG.member, ORG.organization):
            if org.value(m, p) not in organisations:
                sys.exit(f"organizations.org.jsonld: {m} {p} is not an organisation of the graph")
    for post in org.subjects(RDF.type, ORG.Post):
        if org.value(post, ORG.postIn) not in organisations:
            sys.exit(f"organizations.org.jsonld: {post} is in no organisation of the graph")
    print(f"ok   W3C ORG: {len(organisations)} organisations, {len(memberships)} memberships, all linked")
    popolo = json.load(open(os.path.join(release, "popolo.json"), encoding="utf-8"))
    ids = [o["id"] for o in popolo["organizations"]]
    if len(ids) != len(set(ids)):
        sys.exit("popolo.json: an organisation id is repeated")
    for m in popolo["memberships"]:
        if m["organization_id"] not in ids or m["member"]["id"] not in ids:
            sys.exit(f"popolo.json: membership {m['id']} names an unknown organisation")
    for post in popolo["posts"]:
        if post["organization_id"] not in ids:
            sys.exit(f"popolo.json: post {post['id']} is in an unknown organisation")
    print(f"ok   Popolo: {len(ids)} organisations, {len(popolo['memberships'])} memberships, {len(popolo['posts'])} posts, all linked")
PY
echo "open data ok"
