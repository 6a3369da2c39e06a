#!/usr/bin/env bash
# The gateway's HTTP edge checked with the tools integrators use, not the
# in-house Rust helpers (issue 15): the official Connect client for Node.js
# over protoc-gen-es code (tests/clients/connect.mjs), `buf curl` in the
# Connect, gRPC-Web and gRPC protocols, and plain curl for what the Connect
# protocol says an HTTP client sees (status codes, GET, gzip, deadlines,
# CORS, limits) over HTTP/1.1 and h2c. Against a running plaintext gateway:
#
#   scripts/http-clients.sh [host:port]     (default 127.0.0.1:50050)
#
# HTTP_CLIENTS_MAX_MESSAGE_BYTES=N: the gateway was started with
# INNOLAB_MAX_MESSAGE_BYTES=N (e.g. 262144); adds the 413 check (a body over
# the limit is refused, naming the limit, and nothing is stored).
#
# Installs its tools into a temporary directory (npm: buf, protoc-gen-es and
# the Connect packages at the versions tests/clients/package-lock.json pins;
# PyPI: tests/clients/requirements.txt). Prints `ok ...` or `FAIL ...` per
# check, goes on after a failure, and exits 1 if any check failed.
set -euo pipefail
cd "$(dirname "$0")/.."
addr="${1:-127.0.0.1:50050}"
base="http://$addr"
svc="$base/innolab.membership.v1.MembershipService"
gw="$base/innolab.gateway.v1.GatewayService"

out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
# shellcheck source=scripts/lib/http-checks.sh
source scripts/lib/http-checks.sh
echo "installing the client tools into $out"
http_tools "$out/tools"

# Predicates of these checks, on the last answer (see scripts/lib/http-checks.sh).
gunzipped_has() { gzip -dc "$out/body" 2>/dev/null | grep -qF -- "$1"; }
openapi_31() {
  "$python" -c 'import json, sys; sys.exit(json.load(open(sys.argv[1])).get("openapi") != "3.1.0")' "$out/body" 2>/dev/null
}
# late_h2 HOST:PORT PATH JSON: an h2c POST with Connect-Timeout-Ms: 500 whose
# body leaves 1.5 s after its headers; the answer is left as `call` leaves it.
late_h2() {
  node --input-type=module - "$1" "$2" "$3" "$out" <<'JS'
import http2 from "node:http2";
import fs from "node:fs";
const [addr, path, json, dir] = process.argv.slice(2);
const started = Date.now();
const session = http2.connect(`http://${addr}`);
const req = session.request({":method": "POST", ":path": path,
  "content-type": "application/json", "connect-timeout-ms": "500"});
let status = 0, body = "";
req.on("response", (h) => { status = h[":status"]; });
req.on("data", (d) => { body += d; });
const done = () => {
  fs.writeFileSync(`${dir}/body`, body);
  fs.writeFileSync(`${dir}/meta`, `${status} ${(Date.now() - started) / 1000}`);
  session.close();
};
req.on("end", done);
req.on("error", done);
setTimeout(() => { try { req.end(json); } catch {} }, 1500);
JS
  : >"$out/headers"
  version=2
  read -r status elapsed <"$out/meta" || true # no newline at its end
}
# frames: the Connect stream in $out/body, one line per frame: FLAGS JSON.
frames() {
  "$python" - "$out/body" <<'PY'
import struct, sys
data = open(sys.argv[1], "rb").read()
while len(data) >= 5:
    flags, size = data[0], struct.unpack(">I", data[1:5])[0]
    print(flags, data[5:5 + size].decode("utf-8", "replace"))
    data = data[5 + size:]
if data:
    print("truncated", len(data))
PY
}
frame_has() { frames | grep -q "^0 .*$1"; } # a message frame matching REGEX
ends_with() { # REGEX: the last frame is the end-stream (flag 2) and matches REGEX
  local last
  last=$(frames | tail -n 1)
  [[ $last == "2 "* ]] && grep -q -- "$1" <<<"$last"
}
ends_cleanly() { local last; last=$(frames | tail -n 1); [[ $last == "2 "* && $last != *'"error"'* ]]; }
# none_found WORD: no organisation's name carries WORD (nothing was stored).
# Asked over gRPC, so that it does not fail along with the checks.
none_found() {
  local found
  found=$(buf curl --protocol grpc --http2-prior-knowledge -d "{\"filter\": \"\\\"$1\\\"\", \"page_size\": 100}" \
    "$svc/ListOrganizations" 2>/dev/null \
    | "$python" -c 'import json, sys; print(len(json.load(sys.stdin).get("organizations", [])))' 2>/dev/null) \
    || return 1
  [[ $found == 0 ]]
}
# envelope JSON: a Connect streaming request body (flags 0, big-endian length, message).
envelope() {
  "$python" -c 'import struct, sys; b = sys.argv[1].encode(); sys.stdout.buffer.write(b"\0" + struct.pack(">I", len(b)) + b)' "$1"
}

run="hc$(date +%s)$RANDOM"
org_json() { # WORD COUNTRY: a CreateOrganization request whose name carries WORD
  printf '{"organization": {"displayNames": [{"languageCode": "fi", "text": "HTTP client check %s"}], "kind": "ORGANIZATION_KIND_GOVERNMENT", "countryCode": "%s"}, "requestId": "%s"}' "$1" "$2" "$1"
}

# The organisation the checks read, created over gRPC (the path none of
# these checks is about), so that every check below stands on its own.
name=$(buf curl --protocol grpc --http2-prior-knowledge -d "$(org_json "${run}x" FI)" "$svc/CreateOrganization" 2>"$out/curl.err" \
  | sed -n 's/^  "name": "\([^"]*\)".*/\1/p') || true
if [[ -z $name ]]; then
  echo "FAIL cannot create the organisation the checks read (gRPC CreateOrganization): $(head -c 300 "$out/curl.err")"
  exit 1
fi
echo "reading $name"

# curl_checks LABEL CURL-FLAG VERSION: the curl checks over one HTTP
# version (--http1.1, or --http2-prior-knowledge for h2c; VERSION as curl
# reports it).
curl_checks() {
  local label=$1 v=$2 http=$3 word
  word="${run}${label//[^a-z0-9]/}"

  echo
  echo "--- $label: Connect unary, POST application/json"
  call "$v" -X POST -H 'Content-Type: application/json' -d "$(org_json "${word}a" FI)" "$svc/CreateOrganization"
  check "curl $label: POST application/json CreateOrganization is 200 application/json with the record" \
    is 200 "HTTP client check ${word}a" + version_is "$http" + header_like content-type 'application/json*'
  call "$v" -X POST -H 'Content-Type: application/json' -d "{\"name\": \"$name\"}" "$svc/GetOrganization"
  check "curl $label: POST application/json GetOrganization" is 200 "\"name\":\"$name\""

  echo
  echo "--- $label: Connect GET for methods marked NO_SIDE_EFFECTS; 405 for the rest"
  get "$svc/GetOrganization" "{\"name\":\"$name\"}" "$v"
  check "curl $label: GET ?connect=v1&encoding=json&message=... MembershipService/GetOrganization" is 200 "\"name\":\"$name\""
  get "$svc/ListOrganizations" "{\"filter\":\"\\\"${run}x\\\"\"}" "$v"
  check "curl $label: GET MembershipService/ListOrganizations" is 200 "\"name\":\"$name\""
  get "$gw/GetOrganizationProfile" "{\"name\":\"$name\"}" "$v"
  check "curl $label: GET GatewayService/GetOrganizationProfile" is 200 "\"name\":\"$name\""
  # A write is never a GET: 405 naming POST, and nothing created.
  get "$svc/CreateOrganization" "$(org_json "${word}g" FI)" "$v"
  check "curl $label: GET of CreateOrganization is 405 with Allow: POST, and stores nothing" \
    is 405 + header_like allow '*POST*' + none_found "${word}g"
  call "$v" -X DELETE "$svc/GetOrganization"
  check "curl $label: DELETE is 405" is 405
  call "$v" -X PUT -H 'Content-Type: application/json' -d "{\"name\": \"$name\"}" "$svc/GetOrganization"
  check "curl $label: PUT is 405" is 405

  echo
  echo "--- $label: 415 for a POST that is not application/json or application/proto"
  # curl -d alone sends application/x-www-form-urlencoded, as a careless client would.
  call "$v" -X POST -d "$(org_json "${word}f" FI)" "$svc/CreateOrganization"
  check "curl $label: POST form-urlencoded (curl's default) is 415 with a Connect error body" connect_error 415
  call "$v" -X POST -H 'Content-Type: text/plain' -d "$(org_json "${word}f" FI)" "$svc/CreateOrganization"
  check "curl $label: POST text/plain is 415 with a Connect error body" connect_error 415
  call "$v" -X POST -H 'Content-Type:' -d "$(org_json "${word}f" FI)" "$svc/CreateOrganization"
  check "curl $label: POST without Content-Type is 415 with a Connect error body, and none of the three stored anything" \
    connect_error 415 + none_found "${word}f"

  echo
  echo "--- $label: gzip, a compressed request body and a compressed answer when asked"
  org_json "${word}z" FI | gzip -c > "$out/request.gz"
  call "$v" -X POST -H 'Content-Type: application/json' -H 'Content-Encoding: gzip' \
    --data-binary @"$out/request.gz" "$svc/CreateOrganization"
  check "curl $label: POST with Content-Encoding: gzip is read" is 200 "HTTP client check ${word}z"
  # Without --compressed, curl leaves the body as sent: it must be gzip.
  call "$v" -X POST -H 'Content-Type: application/json' -H 'Accept-Encoding: gzip' \
    -d "{\"name\": \"$name\"}" "$svc/GetOrganization"
  check "curl $label: Accept-Encoding: gzip gets Content-Encoding: gzip and a gzip body" \
    is 200 + header_like content-encoding gzip + gunzipped_has "\"name\":\"$name\""
  call "$v" --compressed -X POST -H 'Content-Type: application/json' -d "{\"name\": \"$name\"}" "$svc/GetOrganization"
  check "curl $label: --compressed, answered compressed and decoded by curl" \
    is 200 "\"name\":\"$name\"" + header_like content-encoding '?*'

  echo
  echo "--- $label: Connect-Timeout-Ms"
  # Nothing in the suite is reliably slow, so the client is: the headers go
  # out at once, the body 1.5 s later. The deadline covers the whole call
  # from its headers (as in gRPC and connect-go), so a correct gateway
  # answers 504 deadline_exceeded whatever the machine's speed.
  # Over HTTP/2 curl 7.88 drops an answer that comes while it is still
  # uploading ("Empty reply from server"), so there Node's http2 client
  # sends the late body instead.
  if [[ $v == --http1.1 ]]; then
    call "$v" -X POST -T - -H 'Expect:' -H 'Content-Type: application/json' -H 'Connect-Timeout-Ms: 500' \
      "$svc/CreateOrganization" < <(sleep 1.5; org_json "${word}t" FI)
  else
    late_h2 "$addr" /innolab.membership.v1.MembershipService/CreateOrganization "$(org_json "${word}t" FI)"
  fi
  check "curl $label: Connect-Timeout-Ms: 500 with the body 1.5 s late is 504 deadline_exceeded" \
    is 504 '"code":"deadline_exceeded"'
  # A followed change feed never ends by itself: the deadline ends it, in
  # the stream's end message (HTTP 200: streams report errors in-band).
  envelope '{"follow": true}' > "$out/follow.env"
  call "$v" -X POST -H 'Content-Type: application/connect+json' -H 'Connect-Timeout-Ms: 500' \
    --data-binary @"$out/follow.env" "$gw/StreamChanges"
  check "curl $label: Connect-Timeout-Ms: 500 ends a followed StreamChanges with deadline_exceeded" \
    is 200 + ends_with '"code":"deadline_exceeded"' + faster_than 10

  echo
  echo "--- $label: Connect server streaming"
  envelope '{}' > "$out/catchup.env"
  call "$v" -X POST -H 'Content-Type: application/connect+json' --data-binary @"$out/catchup.env" "$gw/StreamChanges"
  check "curl $label: application/connect+json StreamChanges, the changes then a clean end-stream" \
    is 200 + header_like content-type 'application/connect+json*' + frame_has "\"resource\":\"$name\"" + ends_cleanly

  echo
  echo "--- $label: CORS, closed unless INNOLAB_CORS_ALLOWED_ORIGINS lists the origin"
  call "$v" -X OPTIONS -H 'Origin: https://elsewhere.example.org' -H 'Access-Control-Request-Method: POST' \
    -H 'Access-Control-Request-Headers: content-type,connect-protocol-version' "$svc/GetOrganization"
  check "curl $label: preflight from an unlisted origin gets no Access-Control-Allow-Origin" \
    no_header access-control-allow-origin

  echo
  echo "--- $label: message size limit"
  if [[ -n ${HTTP_CLIENTS_MAX_MESSAGE_BYTES:-} ]]; then
    local limit=$HTTP_CLIENTS_MAX_MESSAGE_BYTES
    # Valid JSON of a small organisation, padded with whitespace past the
    # limit: the limit is on the body as sent.
    "$python" -c 'import sys; sys.stdout.write(sys.argv[1] + " " * (int(sys.argv[2]) + 1024))' \
      "$(org_json "${word}l" FI)" "$limit" > "$out/large.json"
    call "$v" -X POST -H 'Content-Type: application/json' --data-binary @"$out/large.json" "$svc/CreateOrganization"
    check "curl $label: a body over the $limit-byte limit is 413 resource_exhausted naming $limit, and stores nothing" \
      is 413 '"code":"resource_exhausted"' + is 413 "$limit" + none_found "${word}l"
  else
    echo "skip 413: set HTTP_CLIENTS_MAX_MESSAGE_BYTES to the gateway's INNOLAB_MAX_MESSAGE_BYTES"
  fi

  echo
  echo "--- $label: OpenAPI"
  call "$v" "$base/openapi.json"
  check "curl $label: GET /openapi.json is an OpenAPI 3.1.0 JSON document" is 200 + openapi_31
}
get() { # URL MESSAGE-JSON CURL-FLAG: GET ?connect=v1&encoding=json&message=<urlencoded>
  call "$3" -G --data-urlencode connect=v1 --data-urlencode encoding=json --data-urlencode "message=$2" "$1"
}

curl_checks http/1.1 --http1.1 1.1
curl_checks h2c --http2-prior-knowledge 2

echo
echo "--- buf curl: Connect, gRPC-Web and gRPC"
# bcurl WHAT ARGS...: buf curl GetOrganization of $name; ok if it answers with it.
bcurl() {
  local what=$1
  shift
  if buf curl "$@" -d "{\"name\": \"$name\"}" "$svc/GetOrganization" >"$out/body" 2>"$out/curl.err" \
    && grep -q "\"name\": \"$name\"" "$out/body"; then
    pass "$what"
  else
    miss "$what: $(cat "$out/body" "$out/curl.err" | head -c 300 | tr '\n' ' ')"
  fi
}
bcurl "buf curl --protocol connect (schema from proto/, HTTP/1.1)" --protocol connect --schema proto
bcurl "buf curl --protocol connect (server reflection, h2c)" --protocol connect
bcurl "buf curl --protocol grpcweb (schema from proto/, HTTP/1.1)" --protocol grpcweb --schema proto
bcurl "buf curl --protocol grpc --http2-prior-knowledge (server reflection)" --protocol grpc --http2-prior-knowledge

echo
echo "--- the official Connect client (tests/clients/connect.mjs)"
if ! (cd "$node_dir" && node connect.mjs "$base"); then
  fails=$((fails + 1))
fi

echo
if ((fails)); then
  echo "http clients: $fails FAILED"
  exit 1
fi
echo "http clients ok"
