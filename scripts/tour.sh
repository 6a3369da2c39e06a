#!/usr/bin/env bash
# The README's tour, runnable: registers an organisation, a person, the network,
# a membership through its lifecycle and a national contact point, records an
# initiative and reads its dossier, the organisation's profile and what is
# similar to it, against a
# running suite (through the gateway) or membership service, using server
# reflection (no .proto files).
#
#   scripts/tour.sh [host:port]        (default 127.0.0.1:50050, the gateway)
#
# Needs Node.js for `buf curl` (fetched by npx on first use).
set -euo pipefail
addr="${1:-127.0.0.1:50050}"
svc="http://$addr/innolab.membership.v1.MembershipService"

call() { # method json -> prints the JSON reply; fails on a gRPC error
  npx --yes @bufbuild/buf@1.75.0 curl --protocol grpc --http2-prior-knowledge \
    -d "$2" "$svc/$1" 2>/dev/null
}
call_at() { # service method json -> prints the JSON reply; fails on a gRPC error
  npx --yes @bufbuild/buf@1.75.0 curl --protocol grpc --http2-prior-knowledge \
    -d "$3" "http://$addr/$1/$2" 2>/dev/null
}
name_of() { sed -n 's/^  "name": "\([^"]*\)".*/\1/p' | head -n 1; }
show() { printf '\n--- %s\n' "$*"; }

show "CreateOrganization (retried with the same request_id: same record)"
org_json='{"organization": {
  "display_names": [{"language_code": "ro", "text": "Secretariatul General al Guvernului"},
                    {"language_code": "en", "text": "General Secretariat of the Government"}],
  "identifiers": [{"scheme": "RO-CUI", "value": "4221187"}],
  "kind": "ORGANIZATION_KIND_GOVERNMENT", "government_level": "GOVERNMENT_LEVEL_CENTRAL",
  "country_code": "RO", "subdivision_code": "RO-B", "nuts_code": "RO321",
  "sector": "GOVERNMENT_FUNCTION_GENERAL_PUBLIC_SERVICES", "homepage_uri": "https://sgg.gov.ro"},
  "request_id": "tour-organization-1"}'
org=$(call CreateOrganization "$org_json" | name_of)
again=$(call CreateOrganization "$org_json" | name_of)
echo "$org"
[ -n "$org" ] && [ "$org" = "$again" ]

show "Bad input names the field (INVALID_ARGUMENT)"
if out=$(npx --yes @bufbuild/buf@1.75.0 curl --protocol grpc --http2-prior-knowledge \
     -d '{"organization": {"display_names": [{"language_code": "ro", "text": "X"}], "kind": "ORGANIZATION_KIND_GOVERNMENT", "country_code": "XX"}}' \
     "$svc/CreateOrganization" 2>&1); then
  echo "expected an error"; exit 1
fi
echo "$out" | grep -q 'invalid_argument' && echo "$out" | grep -q 'organization.country_code'
echo "$out" | grep '"message"'

show "ListOrganizations with a filter and free text"
call ListOrganizations '{"filter": "country_code = \"RO\" AND kind = GOVERNMENT \"secretariatul\"", "page_size": 10}' \
  | grep -q "$org"
call ListOrganizations '{"filter": "\"general secretariat\""}' | grep -q "$org"
echo "found $org"

show "CreateGroup, CreatePerson"
group=$(call CreateGroup '{"group": {"display_name": "Romanian public innovation network", "kind": "GROUP_KIND_NETWORK"}}' | name_of)
person=$(call CreatePerson "{\"person\": {\"organization\": \"$org\", \"display_name\": \"Ana Popescu\", \"email\": \"ana.popescu@sgg.gov.ro\", \"language_codes\": [\"ro\", \"en\"]}}" | name_of)
echo "$group $person"

show "CreateMembership -> ApproveMembership"
membership=$(call CreateMembership "{\"membership\": {\"group\": \"$group\", \"member\": \"$org\", \"role\": \"ROLE_MEMBER\"}, \"decided_by\": \"$person\", \"reason\": \"joins the network\"}" | name_of)
call ApproveMembership "{\"name\": \"$membership\", \"decided_by\": \"$group\", \"reason\": \"approved\"}" \
  | grep -q MEMBERSHIP_STATE_ACTIVE
echo "$membership is ACTIVE"

show "CreatePost -> AssignPostHolder (national contact point for RO)"
post=$(call CreatePost "{\"post\": {\"group\": \"$group\", \"role\": \"ROLE_NATIONAL_CONTACT_POINT\", \"country_code\": \"RO\"}}" | name_of)
call AssignPostHolder "{\"name\": \"$post\", \"person\": \"$person\", \"decided_by\": \"$org\"}" \
  | grep -q "\"holder\": \"$person\""
echo "$post held by $person"

show "CreateInitiative led by the organisation, then its dossier and the organisation's profile"
initiative=$(call_at innolab.initiatives.v1.InitiativesService CreateInitiative "{\"initiative\": {
  \"titles\": [{\"language_code\": \"ro\", \"text\": \"Ghiseul digital\"}],
  \"lead_organization\": \"$org\", \"country_code\": \"RO\",
  \"stage\": \"INITIATIVE_STAGE_DEVELOPING_PROPOSALS\"}, \"actor\": \"$person\"}" | name_of)
call_at innolab.gateway.v1.GatewayService GetInitiativeDossier "{\"name\": \"$initiative\"}" \
  | grep -q "\"name\": \"$org\""
call_at innolab.gateway.v1.GatewayService GetOrganizationProfile "{\"name\": \"$org\"}" \
  | grep -q "\"name\": \"$initiative\""
call_at innolab.gateway.v1.GatewayService GetPortfolioOverview '{"filter": "country_code = \"RO\""}' \
  | grep -q '"evidence"'
echo "dossier of $initiative names its lead $org; the profile lists the initiative"

show "FindSimilar: who has solved this already (cases, challenges, guidance, organisations)"
call_at innolab.gateway.v1.GatewayService FindSimilar \
  '{"query": {"text": "Un ghiseul digital pentru cetateni", "language_code": "ro"}}' \
  | grep -q "\"name\": \"$initiative\""
echo "$initiative is found, with its reasons"

show "CreateAdoption -> ConfirmAdoption -> GetDiffusion: a Finnish case adapts the Romanian one"
adopter=$(call_at innolab.initiatives.v1.InitiativesService CreateInitiative "{\"initiative\": {
  \"titles\": [{\"language_code\": \"fi\", \"text\": \"Digitaalinen asiointipiste\"}],
  \"lead_organization\": \"$org\", \"country_code\": \"FI\"}, \"actor\": \"$person\"}" | name_of)
adoption=$(call_at innolab.initiatives.v1.InitiativesService CreateAdoption "{\"adoption\": {
  \"initiative\": \"$adopter\", \"source\": \"$initiative\", \"kind\": \"ADOPTION_KIND_ADAPTS\",
  \"adaptations\": \"Finnish and Swedish forms\"}}" | name_of)
call_at innolab.initiatives.v1.InitiativesService ConfirmAdoption \
  "{\"name\": \"$adoption\", \"side\": \"ADOPTION_SIDE_BOTH\", \"confirmed_by\": \"$person\"}" \
  | grep -q ADOPTION_STATE_CONFIRMED
call_at innolab.gateway.v1.GatewayService GetDiffusion "{\"name\": \"$initiative\"}" | grep -q "$adopter"
echo "$adopter adapts $initiative ($adoption, confirmed); the diffusion tree shows it"

show "ExportPersonData: everything the suite holds about $person, then ErasePerson"
call_at innolab.gateway.v1.GatewayService ExportPersonData "{\"name\": \"$person\"}" \
  | tr -d ' \n' | grep -q "\"service\":\"initiatives\",\"resource\":\"$initiative\",\"field\":\"timeline.actor\""
call ErasePerson "{\"name\": \"$person\", \"reason\": \"erasure request 2026-17\"}" | grep -q eraseTime
if call_at innolab.gateway.v1.GatewayService ExportPersonData "{\"name\": \"$person\"}" | grep -q "Ana Popescu"; then
  echo "the erased person's name is still exported" >&2
  exit 1
fi
echo "the export names $initiative (its timeline's actor); after ErasePerson it holds no name"

show "Health"
npx --yes @bufbuild/buf@1.75.0 curl --protocol grpc --http2-prior-knowledge -d '{"service": ""}' \
  "http://$addr/grpc.health.v1.Health/Check" 2>/dev/null | grep -q SERVING
npx --yes @bufbuild/buf@1.75.0 curl --protocol grpc --http2-prior-knowledge \
  -d '{"service": "innolab.impact.v1.ImpactService"}' \
  "http://$addr/grpc.health.v1.Health/Check" 2>/dev/null | grep -q SERVING
echo "SERVING, and the impact service too, as the gateway sees it"
printf '\ntour ok\n'
