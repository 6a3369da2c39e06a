#!/usr/bin/env bash
# The gateway over TLS as HTTP clients meet it (issue 15): one TLS port
# whose ALPN offers h2 and http/1.1, so that Python `requests` (HTTP/1.1
# only), curl over either version, `buf curl` and the official Connect
# client all work, verifying the certificate against a CA; and CORS open to
# the one origin the operator lists. Development mode: TLS without client
# certificates or an access table.
#
#   scripts/http-tls.sh <suite-binary>     (e.g. target/debug/innolab)
#
# Makes a CA and a server certificate for 127.0.0.1 and localhost with
# openssl in a temporary directory, starts the suite there on free ports
# with INNOLAB_TLS_CERT_FILE, INNOLAB_TLS_KEY_FILE and
# INNOLAB_CORS_ALLOWED_ORIGINS=https://app.example.gov, runs the checks, and
# stops it. Installs its tools as scripts/http-clients.sh does. Prints
# `ok ...` or `FAIL ...` per check and exits 1 if any failed.
set -euo pipefail
cd "$(dirname "$0")/.."
suite_bin=$(realpath "${1:?usage: scripts/http-tls.sh <suite-binary>}")
origin="https://app.example.gov"

out=$(mktemp -d)
suite_pid=""
stop_suite() {
  if [[ -n $suite_pid ]]; then
    kill -TERM "$suite_pid" 2>/dev/null || true
    wait "$suite_pid" 2>/dev/null || true
    suite_pid=""
  fi
}
trap 'stop_suite; rm -rf "$out"' EXIT
# shellcheck source=scripts/lib/http-checks.sh
source scripts/lib/http-checks.sh

echo "--- a CA and a server certificate for 127.0.0.1 and localhost"
pki="$out/pki"
mkdir -p "$pki"
openssl req -x509 -new -nodes -newkey ec -pkeyopt ec_paramgen_curve:P-256 -days 2 \
  -subj "/CN=innolab HTTP check CA" -keyout "$pki/ca.key" -out "$pki/ca.pem" \
  -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign" 2>/dev/null
openssl req -new -nodes -newkey ec -pkeyopt ec_paramgen_curve:P-256 \
  -subj "/CN=localhost" -keyout "$pki/server.key" -out "$pki/server.csr" 2>/dev/null
printf '%s\n' "basicConstraints=critical,CA:FALSE" "keyUsage=critical,digitalSignature" \
  "extendedKeyUsage=serverAuth" "subjectAltName=DNS:localhost,IP:127.0.0.1" > "$pki/server.ext"
openssl x509 -req -in "$pki/server.csr" -CA "$pki/ca.pem" -CAkey "$pki/ca.key" -CAcreateserial \
  -days 2 -extfile "$pki/server.ext" -out "$pki/server.pem" 2>/dev/null
openssl verify -CAfile "$pki/ca.pem" "$pki/server.pem"
ca="$pki/ca.pem"

echo "installing the client tools into $out"
http_tools "$out/tools"

echo "--- starting the suite with TLS"
mkdir -p "$out/suite"
# Every port free (the gateway's 0 puts the services on free ports too);
# the gateway's address is read from the suite's log.
(cd "$out/suite" && INNOLAB_LISTEN_ADDR=127.0.0.1:0 INNOLAB_METRICS_ADDR=off \
  INNOLAB_TLS_CERT_FILE="$pki/server.pem" INNOLAB_TLS_KEY_FILE="$pki/server.key" \
  INNOLAB_CORS_ALLOWED_ORIGINS="$origin" exec "$suite_bin" >"$out/suite/log" 2>&1) &
suite_pid=$!
addr=""
for _ in $(seq 1 120); do
  addr=$(sed -n 's/.*innolab suite starting: gateway on \([0-9.]*:[0-9]*\).*/\1/p' "$out/suite/log" | head -n 1)
  [[ -n $addr ]] && break
  kill -0 "$suite_pid" 2>/dev/null || break
  sleep 0.5
done
# Ready when the gateway reports every service SERVING, asked over TLS as
# .ci/run asks it in plaintext (the suite's own "ready" line comes from a
# plaintext probe, so it does not come with TLS).
ready=false
if [[ -n $addr ]]; then
  for service in membership.v1.MembershipService initiatives.v1.InitiativesService \
    guidance.v1.GuidanceService impact.v1.ImpactService; do
    ready=false
    for _ in $(seq 1 60); do
      if buf curl --cacert "$ca" --protocol grpc -d "{\"service\": \"innolab.$service\"}" \
        "https://127.0.0.1:${addr##*:}/grpc.health.v1.Health/Check" 2>/dev/null | grep -q '"SERVING"'; then
        ready=true
        break
      fi
      sleep 0.5
    done
    $ready || break
  done
fi
if ! $ready; then
  echo "FAIL the suite did not become ready with TLS; its log:"
  cat "$out/suite/log"
  exit 1
fi
port=${addr##*:}
base="https://127.0.0.1:$port"
svc="$base/innolab.membership.v1.MembershipService"
echo "gateway on $base"
run="tls$(date +%s)$RANDOM"
org_json() { # WORD: a CreateOrganization request whose name carries WORD
  printf '{"organization": {"displayNames": [{"languageCode": "no", "text": "TLS check %s"}], "kind": "ORGANIZATION_KIND_GOVERNMENT", "countryCode": "NO"}}' "$1"
}

echo
echo "--- ALPN: h2 and http/1.1 on the one port"
# alpn OFFER: the protocol the server picks when the client offers OFFER.
alpn() {
  openssl s_client -connect "127.0.0.1:$port" -servername localhost -CAfile "$ca" -alpn "$1" </dev/null 2>/dev/null \
    | sed -n 's/^ALPN protocol: //p'
}
chosen=$(alpn h2,http/1.1)
if [[ $chosen == h2 ]]; then pass "ALPN: offered h2 and http/1.1, the gateway picks h2"; else miss "ALPN: offered h2,http/1.1, got ${chosen:-none}"; fi
chosen=$(alpn http/1.1)
if [[ $chosen == http/1.1 ]]; then pass "ALPN: offered http/1.1 only, the gateway takes it"; else miss "ALPN: offered http/1.1, got ${chosen:-none}"; fi

echo
echo "--- curl over TLS, the certificate verified against the CA"
call --http2 --cacert "$ca" -X POST -H 'Content-Type: application/json' -d "$(org_json "${run}a")" "$svc/CreateOrganization"
check "curl --http2 https: POST application/json CreateOrganization over HTTP/2" is 200 "TLS check ${run}a" + version_is 2
name=$(sed -n 's/.*"name":"\(organizations\/[^"]*\)".*/\1/p' "$out/body")
call --http1.1 --cacert "$ca" -X POST -H 'Content-Type: application/json' -d "{\"name\": \"$name\"}" "$svc/GetOrganization"
check "curl --http1.1 https: POST application/json GetOrganization over HTTP/1.1" is 200 "\"name\":\"$name\"" + version_is 1.1
# The certificate's DNS name, as a client that calls it localhost checks it.
call --http1.1 --cacert "$ca" --resolve "localhost:$port:127.0.0.1" -X POST -H 'Content-Type: application/json' \
  -d "{\"name\": \"$name\"}" "https://localhost:$port/innolab.membership.v1.MembershipService/GetOrganization"
check "curl --http1.1 https://localhost: the name in the certificate verifies" is 200 "\"name\":\"$name\""
call --http1.1 --cacert "$ca" -X POST -H 'Content-Type: text/plain' -d "{\"name\": \"$name\"}" "$svc/GetOrganization"
check "curl --http1.1 https: text/plain is 415 with a Connect error body" connect_error 415

echo
echo "--- CORS: open to $origin only"
cors_headers="content-type,connect-protocol-version,connect-timeout-ms,grpc-timeout,x-grpc-web,x-user-agent,authorization,x-request-id"
call --http1.1 --cacert "$ca" -X OPTIONS -H "Origin: $origin" -H 'Access-Control-Request-Method: POST' \
  -H "Access-Control-Request-Headers: $cors_headers" "$svc/GetOrganization"
allowed_headers() { # every header of $cors_headers is allowed
  local allowed name
  allowed=",$(header access-control-allow-headers | tr -d ' ' | tr '[:upper:]' '[:lower:]'),"
  for name in ${cors_headers//,/ }; do
    [[ $allowed == *",$name,"* ]] || return 1
  done
}
check "preflight from $origin: allowed, with POST and GET and the Connect and gRPC-Web headers" \
  header_like access-control-allow-origin "$origin" + header_like access-control-allow-methods '*POST*' \
  + header_like access-control-allow-methods '*GET*' + allowed_headers
call --http2 --cacert "$ca" -X POST -H "Origin: $origin" -H 'Content-Type: application/json' \
  -d "{\"name\": \"$name\"}" "$svc/GetOrganization"
exposed_headers() { # the gRPC-Web status headers are readable by the page
  local exposed name
  exposed=",$(header access-control-expose-headers | tr -d ' ' | tr '[:upper:]' '[:lower:]'),"
  for name in grpc-status grpc-message grpc-status-details-bin; do
    [[ $exposed == *",$name,"* ]] || return 1
  done
}
check "a call from $origin: answered with its origin allowed and grpc-status, grpc-message, grpc-status-details-bin exposed" \
  is 200 "\"name\":\"$name\"" + header_like access-control-allow-origin "$origin" + exposed_headers
call --http1.1 --cacert "$ca" -X OPTIONS -H 'Origin: https://elsewhere.example.org' -H 'Access-Control-Request-Method: POST' \
  -H 'Access-Control-Request-Headers: content-type' "$svc/GetOrganization"
check "preflight from an origin not listed gets no Access-Control-Allow-Origin" no_header access-control-allow-origin

echo
echo "--- Python requests (HTTP/1.1) over TLS"
if ! "$python" tests/clients/requests_tls.py "$base" "$ca"; then
  fails=$((fails + 1))
fi

echo
echo "--- buf curl over TLS (--cacert)"
for protocol in connect grpcweb grpc; do
  if buf curl --cacert "$ca" --protocol "$protocol" --schema proto -d "{\"name\": \"$name\"}" \
    "$svc/GetOrganization" >"$out/body" 2>"$out/curl.err" && grep -q "\"name\": \"$name\"" "$out/body"; then
    pass "buf curl --protocol $protocol https (ALPN)"
  else
    miss "buf curl --protocol $protocol https (ALPN): $(cat "$out/body" "$out/curl.err" | head -c 300 | tr '\n' ' ')"
  fi
done

echo
echo "--- the official Connect client over https (tests/clients/connect.mjs), HTTP/1.1 and HTTP/2"
if ! (cd "$node_dir" && NODE_EXTRA_CA_CERTS="$ca" node connect.mjs "$base"); then
  fails=$((fails + 1))
fi

stop_suite
echo
if ((fails)); then
  echo "http over TLS: $fails FAILED"
  exit 1
fi
echo "http over TLS ok"
