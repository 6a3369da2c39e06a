# shellcheck shell=bash disable=SC2154 # $out is set by the script that sources this
# Sourced by scripts/http-clients.sh and scripts/http-tls.sh: the
# integrators' tools, installed into a temporary directory as
# scripts/generate-clients.sh does, and the helpers of curl checks that print
# `ok ...` / `FAIL ...` lines (as scripts/json-examples.sh does) and count
# the failures in $fails. The caller sets $out (a temporary directory) and
# runs http_tools before the first check.

# http_tools DIR (run from the repository root): installs the tools and
# generates the JavaScript the Connect client uses.
#
# Lays out DIR/node: tests/clients' package.json and lock (npm ci: buf,
# protoc-gen-es, @bufbuild/protobuf, @connectrpc/connect and connect-node at
# pinned versions), connect.mjs, and gen/ with protoc-gen-es's JavaScript
# (target=js+dts; imports end in .js, as Node's ESM needs) for proto/ (the
# contract and the vendored googleapis) and for google/rpc/error_details.proto;
# and DIR/venv with tests/clients/requirements.txt (requests,
# googleapis-common-protos). Puts buf on PATH; sets `node_dir` and `python`.

http_tools() {
  local dir=$1 template
  node_dir="$dir/node"
  python="$dir/venv/bin/python"
  mkdir -p "$node_dir"
  cp tests/clients/package.json tests/clients/package-lock.json tests/clients/connect.mjs "$node_dir/"
  if ! (cd "$node_dir" && npm ci --no-audit --no-fund >"$dir/npm.log" 2>&1); then
    cat "$dir/npm.log" >&2
    return 1
  fi
  python3 -m venv "$dir/venv"
  "$dir/venv/bin/pip" install -q --disable-pip-version-check -r tests/clients/requirements.txt
  export PATH="$node_dir/node_modules/.bin:$PATH"

  template="{\"version\":\"v2\",\"plugins\":[{\"local\":\"protoc-gen-es\",\"out\":\"$node_dir/gen\",\"opt\":[\"target=js+dts\",\"import_extension=js\"]}]}"
  buf generate proto --template "$template"
  # google.rpc's error details, from the .proto that googleapis-common-protos ships.
  mkdir -p "$dir/rpc/google/rpc"
  "$python" - "$dir/rpc/google/rpc" <<'PY'
import pathlib, shutil, sys
import google.rpc.error_details_pb2 as m
shutil.copy(pathlib.Path(m.__file__).with_name("error_details.proto"), sys.argv[1])
PY
  buf generate "$dir/rpc" --template "$template"
}

fails=0
status="" version="" elapsed=0

# call CURL-ARGS... : one request; sets $status, $version and $elapsed
# (seconds), keeps the answer's headers and body in $out/headers and $out/body.
call() {
  local written
  written=$(curl -sS --max-time 20 -o "$out/body" -D "$out/headers" \
    -w '%{http_code} %{http_version} %{time_total}' "$@" 2>"$out/curl.err") || true
  read -r status version elapsed <<<"$written"
}
# The answer in one line, for a FAIL.
got() {
  printf 'HTTP %s (version %s, %ss) %s %s' "$status" "$version" "$elapsed" \
    "$(head -c 300 "$out/body" | tr -d '\n' | tr -c '[:print:]' '.')" "$(head -c 200 "$out/curl.err")"
}
pass() { echo "ok   $1"; }
miss() {
  echo "FAIL $1"
  fails=$((fails + 1))
}
# check WHAT PREDICATE [ARGS...] [+ PREDICATE [ARGS...]]...: ok when every
# predicate holds for the last answer, else FAIL with the answer.
check() {
  local what=$1 held=true
  shift
  while (($#)); do
    local predicate=()
    while (($#)) && [[ $1 != + ]]; do
      predicate+=("$1")
      shift
    done
    (($#)) && shift
    "${predicate[@]}" || held=false
  done
  if $held; then pass "$what"; else miss "$what: got $(got)"; fi
}

# Predicates on the last answer.
is() { # STATUS [FRAGMENT]: that status, and the body holds FRAGMENT
  [[ $status == "$1" ]] && { [[ -z ${2:-} ]] || grep -qF -- "$2" "$out/body"; }
}
version_is() { [[ $version == "$1" ]]; }
header() { grep -i "^$1:" "$out/headers" | tail -n 1 | cut -d: -f2- | tr -d '\r' | sed 's/^ *//'; }
header_like() { # NAME GLOB
  # shellcheck disable=SC2053 # $2 is a glob on purpose
  [[ $(header "$1") == $2 ]]
}
no_header() { [[ -z $(header "$1") ]]; }
faster_than() { # SECONDS
  "$python" -c 'import sys; sys.exit(float(sys.argv[1]) >= float(sys.argv[2]))' "$elapsed" "$1"
}
connect_error() { # STATUS: that status with a Connect error body {"code": ..., "message": ...}
  [[ $status == "$1" ]] && "$python" -c '
import json, sys
e = json.load(open(sys.argv[1]))
sys.exit(0 if isinstance(e.get("code"), str) and isinstance(e.get("message", ""), str) else 1)' "$out/body" 2>/dev/null
}
