#!/usr/bin/env bash
# The README's JSON-over-HTTP examples, runnable: plain curl against the gateway,
# no gRPC tooling. Fails if any answer is not the documented one.
#
#   scripts/json-examples.sh [host:port]     (default 127.0.0.1:50050, the gateway)
set -euo pipefail
root="http://${1:-127.0.0.1:50050}"
base="$root/innolab.membership.v1.MembershipService"

post() { # method json [service-url] -> prints "HTTP-status body"
  curl -s -o /tmp/innolab-json.$$ -w '%{http_code}' -X POST \
    -H 'Content-Type: application/json' -d "$2" "${3:-$base}/$1"
  printf ' '; cat /tmp/innolab-json.$$; rm -f /tmp/innolab-json.$$; echo
}
expect() { # "HTTP-status body" status fragment
  case "$1" in "$2 "*"$3"*) echo "ok   $2 $3";; *) echo "FAIL expected $2 with $3, got: $1"; exit 1;; esac
}

# Create an organisation (proto3 JSON mapping: lowerCamelCase fields, enum names).
out=$(post CreateOrganization '{"organization": {
  "displayNames": [{"languageCode": "da", "text": "Digitaliseringsstyrelsen"}],
  "kind": "ORGANIZATION_KIND_GOVERNMENT", "governmentLevel": "GOVERNMENT_LEVEL_CENTRAL",
  "countryCode": "DK", "homepageUri": "https://digst.dk"}}')
expect "$out" 200 '"countryCode":"DK"'
name=$(echo "$out" | sed 's/.*"name":"\([^"]*\)".*/\1/')

# Read it back.
expect "$(post GetOrganization "{\"name\": \"$name\"}")" 200 "\"name\":\"$name\""

# List with a filter.
expect "$(post ListOrganizations '{"filter": "country_code = \"DK\"", "pageSize": 10}')" 200 "$name"

# Bad input: HTTP 400 with the gRPC code and the field that is wrong.
expect "$(post CreateOrganization '{"organization": {"displayNames": [{"languageCode": "da", "text": "X"}],
  "kind": "ORGANIZATION_KIND_GOVERNMENT", "countryCode": "XX"}}')" 400 '"field":"organization.country_code"'

# Unknown id: HTTP 404.
expect "$(post GetOrganization '{"name": "organizations/does-not-exist"}')" 404 '"code":"not_found"'
# The gateway's own compositions take JSON too: the organisation's profile.
expect "$(post GetOrganizationProfile "{\"name\": \"$name\"}" "$root/innolab.gateway.v1.GatewayService")" \
  200 "\"organization\":{\"name\":\"$name\""
# A read as GET (methods without side effects), answered gzip-compressed.
out=$(curl -s --compressed -o /tmp/innolab-json.$$ -w '%{http_code}' -G \
  --data-urlencode 'encoding=json' --data-urlencode "message={\"name\": \"$name\"}" \
  "$base/GetOrganization"; printf ' '; cat /tmp/innolab-json.$$; rm -f /tmp/innolab-json.$$)
expect "$out" 200 "\"name\":\"$name\""

# The merged change feed as a Connect stream: envelopes in, envelopes out,
# the organisation's creation among them and a clean end-of-stream envelope.
feed=$(printf '\0\0\0\0\2{}' | curl -s --data-binary @- -H 'Content-Type: application/connect+json' \
  "$root/innolab.gateway.v1.GatewayService/StreamChanges" | tr -c '[:print:]' '\n')
case "$feed" in
  *"\"resource\":\"$name\""*) echo "ok   stream $name created" ;;
  *) echo "FAIL the change feed over Connect lacks $name: $feed"; exit 1 ;;
esac

# A body of another content type is refused (415), never taken for a call.
expect "$(curl -s -o /tmp/innolab-json.$$ -w '%{http_code}' -X POST -d 'x=1' "$base/CreateOrganization";
  printf ' '; cat /tmp/innolab-json.$$; rm -f /tmp/innolab-json.$$)" 415 '"code":"invalid_argument"'
# Plain routes: the feed as Server-Sent Events, an attachment up and down.
events=$(curl -s -H 'Accept: text/event-stream' "$root/changes")
case "$events" in
  *"event: change"*"\"resource\":\"$name\""*) echo "ok   events $name created" ;;
  *) echo "FAIL /changes as Server-Sent Events lacks $name: $events"; exit 1 ;;
esac
document=$(post CreateDocument '{"document": {"type": "DOCUMENT_TYPE_GUIDE", "title": "Files", "license": "CC-BY-4.0"}}' \
  "$root/innolab.guidance.v1.GuidanceService" | sed 's/.*"name":"\(documents\/[^"]*\)".*/\1/')
printf 'a guide for public servants\n' > /tmp/innolab-guide.$$
sha=$(sha256sum /tmp/innolab-guide.$$ | cut -c1-64)
uploaded=$(curl -s -w ' %{http_code}' --data-binary @/tmp/innolab-guide.$$ -H 'Content-Type: text/plain' \
  "$root/files/$document/attachments?filename=guide.txt&sha256=$sha")
case "$uploaded" in
  *"\"sha256\":\"$sha\""*" 201") echo "ok   201 attachment uploaded" ;;
  *) echo "FAIL upload: $uploaded"; exit 1 ;;
esac
attachment=$(echo "$uploaded" | sed 's/.*"name":"\([^"]*\)".*/\1/')
[[ "$(curl -s "$root/files/$attachment")" == "a guide for public servants" ]] \
  && echo "ok   download $attachment" || { echo "FAIL download $attachment"; exit 1; }
rm -f /tmp/innolab-guide.$$
echo "json examples ok"
