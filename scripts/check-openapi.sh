#!/usr/bin/env bash
# Validates the gateway's OpenAPI document against the OpenAPI 3.1 schema and
# its rules (resolvable $refs, unique operationIds...) with
# openapi-spec-validator, installed from PyPI into a temporary venv at a
# pinned version. CI runs it against a running gateway.
#
#   scripts/check-openapi.sh http://127.0.0.1:50050/openapi.json
#   scripts/check-openapi.sh path/to/openapi.json
#
# Offline, the document is written by a test of the gateway:
#   INNOLAB_OPENAPI_OUT=/tmp/openapi.json \
#     cargo test -p innolab-gateway --lib openapi::tests::write_document
set -euo pipefail
VALIDATOR_VERSION=0.9.0

if (($# != 1)); then
  echo "usage: $0 <file-or-url>" >&2
  exit 2
fi

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

case "$1" in
  http://* | https://*)
    document="$work/openapi.json"
    curl -fsS --retry 5 --retry-connrefused -o "$document" "$1"
    ;;
  *) document="$1" ;;
esac

python3 -m venv "$work/venv"
"$work/venv/bin/pip" install -q --disable-pip-version-check \
  "openapi-spec-validator==$VALIDATOR_VERSION"
# The document must say 3.1 itself; the validator is then held to 3.1's rules.
"$work/venv/bin/python" - "$document" <<'PY'
import json, sys
version = json.load(open(sys.argv[1])).get("openapi", "")
if not version.startswith("3.1."):
    sys.exit(f"{sys.argv[1]}: openapi is {version!r}, not 3.1.x")
PY
"$work/venv/bin/openapi-spec-validator" --schema 3.1 --validation-errors all "$document"
