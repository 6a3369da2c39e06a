#!/usr/bin/env bash
# Records, through the gateway, one of each public collection the README tour
# does not make, so that a release exported afterwards has something in every
# file: a challenge, a call for innovations with one accepted and one
# rejected submission, a published guidance document, a completed impact
# assessment with an indicator and its measurements, and a capacity round;
# then reads every public collection back as a stream (buf curl) and over
# plain HTTP (curl, NDJSON and CSV): the same records, nobody named.
# Against a running suite, using server reflection (no .proto files).
#
#   scripts/open-data-tour.sh [host:port]   (default 127.0.0.1:50050, the gateway)
#
# Needs Node.js for `buf curl` (fetched by npx on first use).
set -euo pipefail
addr="${1:-127.0.0.1:50050}"

call_at() { # service method json -> prints the JSON reply; fails on a gRPC error
  npx --yes @bufbuild/buf@1.75.0 curl --protocol grpc --http2-prior-knowledge \
    -d "$3" "http://$addr/innolab.$1/$2" 2>/dev/null
}
name_of() { sed -n 's/^  "name": "\([^"]*\)".*/\1/p' | head -n 1; }
field_of() { sed -n "s/^  \"$1\": \"\\([^\"]*\\)\".*/\\1/p" | head -n 1; }
show() { printf '\n--- %s\n' "$*"; }

show "An organisation and an initiative it leads"
org=$(call_at membership.v1.MembershipService CreateOrganization '{"organization": {
  "display_names": [{"language_code": "fi", "text": "Valtiovarainministeriö"}],
  "kind": "ORGANIZATION_KIND_GOVERNMENT", "country_code": "FI",
  "homepage_uri": "https://vm.fi"}}' | name_of)
initiative=$(call_at initiatives.v1.InitiativesService CreateInitiative "{\"initiative\": {
  \"titles\": [{\"language_code\": \"fi\", \"text\": \"Digitaalinen lupapalvelu\"},
               {\"language_code\": \"en\", \"text\": \"Digital permit service\"}],
  \"summaries\": [{\"language_code\": \"en\", \"text\": \"Building permits applied for and granted online.\"}],
  \"lead_organization\": \"$org\", \"country_code\": \"FI\",
  \"sector\": \"GOVERNMENT_FUNCTION_GENERAL_PUBLIC_SERVICES\", \"sdgs\": [9, 16],
  \"start_date\": {\"year\": 2024, \"month\": 1, \"day\": 15}}, \"actor\": \"$org\"}" | name_of)
echo "$org leads $initiative"

show "CreateChallenge"
challenge=$(call_at initiatives.v1.InitiativesService CreateChallenge "{\"challenge\": {
  \"title\": \"Slow building permits\", \"description\": \"Paper forms, \\\"everywhere\\\", at every counter.\",
  \"process\": \"building permits\", \"raised_by\": \"$org\", \"country_code\": \"FI\"}}" | name_of)
echo "$challenge"

show "CreateInnovationCall -> CreateSubmission x2 -> ScreenSubmission (accept, reject)"
call=$(call_at initiatives.v1.InitiativesService CreateInnovationCall '{"call": {
  "title": "Call for Innovations 2026", "description": "Public sector innovations of the year.",
  "open_date": {"year": 2020, "month": 1, "day": 1},
  "close_date": {"year": 2999, "month": 12, "day": 31}}}' | name_of)
submission() {
  call_at initiatives.v1.InitiativesService CreateSubmission "{\"parent\": \"$call\",
    \"submission\": {\"submitted_by\": \"$org\", \"initiative\": {
      \"titles\": [{\"language_code\": \"en\", \"text\": \"$1\"}],
      \"lead_organization\": \"$org\", \"country_code\": \"FI\"}}}" | name_of
}
screen() { # submission decision met
  call_at initiatives.v1.InitiativesService ScreenSubmission "{\"name\": \"$1\", \"screening\": {
    \"public_sector_involved\": true, \"novel_to_organization\": true,
    \"implemented_or_piloted\": $3, \"public_impact\": true,
    \"decision\": \"$2\", \"decided_by\": \"groups/screening-panel\"}}"
}
accepted=$(submission "Chatbot for tax questions")
rejected=$(submission "An idea not yet tried")
screen "$accepted" SCREENING_DECISION_ACCEPT true | grep -q SUBMISSION_STATE_ACCEPTED
screen "$rejected" SCREENING_DECISION_REJECT false | grep -q SUBMISSION_STATE_REJECTED
echo "$accepted accepted, $rejected rejected"

show "CreateDocument -> CreateEdition -> SubmitEdition -> PublishEdition"
document=$(call_at guidance.v1.GuidanceService CreateDocument "{\"document\": {
  \"type\": \"DOCUMENT_TYPE_GUIDE\", \"title\": \"Service design guide\",
  \"description\": \"How to start with users.\", \"topics\": [\"service design\"],
  \"creators\": [\"$org\"], \"license\": \"CC-BY-4.0\",
  \"issue_date\": {\"year\": 2025, \"month\": 3, \"day\": 1}}}" | name_of)
edition=$(call_at guidance.v1.GuidanceService CreateEdition "{\"parent\": \"$document\", \"edition\": {
  \"translations\": [
    {\"language_code\": \"en\", \"title\": \"Service design\", \"summary\": \"Start with users.\",
     \"body\": \"# Start with users\\n\\nTalk to them, \\\"early\\\", and often.\", \"original\": true},
    {\"language_code\": \"fi\", \"title\": \"Palvelumuotoilu\", \"summary\": \"Aloita käyttäjistä.\",
     \"body\": \"# Aloita käyttäjistä\", \"original\": false}]}}" | name_of)
call_at guidance.v1.GuidanceService SubmitEdition "{\"name\": \"$edition\"}" >/dev/null
call_at guidance.v1.GuidanceService PublishEdition "{\"name\": \"$edition\"}" | grep -q EDITION_STATE_PUBLISHED
echo "$edition published"

show "CreateAssessment -> CreateIndicator -> Start, Submit, Review (approved): COMPLETED"
assessment=$(call_at impact.v1.ImpactService CreateAssessment "{\"assessment\": {
  \"initiative\": \"$initiative\", \"title\": \"Permit service after one year\",
  \"evaluation_method\": \"Before and after, against two comparison municipalities\",
  \"nesta_level\": 3, \"maryland_level\": 2,
  \"findings\": \"Waiting times fell from 60 to 28 days.\",
  \"lessons\": [\"Involve the permit clerks from day one\"], \"evaluators\": [\"$org\"]}}" | name_of)
call_at impact.v1.ImpactService CreateIndicator "{\"parent\": \"$assessment\", \"indicator\": {
  \"title\": \"Days to a building permit\", \"result_type\": \"RESULT_TYPE_OUTCOME\",
  \"measure\": \"days\", \"direction\": \"DIRECTION_LOWER_IS_BETTER\",
  \"baseline\": {\"value\": 60, \"date\": {\"year\": 2024, \"month\": 1, \"day\": 1}},
  \"target\": {\"value\": 30, \"date\": {\"year\": 2025, \"month\": 1, \"day\": 1}},
  \"measurements\": [
    {\"date\": {\"year\": 2024, \"month\": 6, \"day\": 1}, \"value\": 45, \"source\": \"Permit register\"},
    {\"date\": {\"year\": 2024, \"month\": 12, \"day\": 1}, \"value\": 28.5, \"source\": \"Permit register\"}]}}" >/dev/null
call_at impact.v1.ImpactService StartAssessment "{\"name\": \"$assessment\", \"decided_by\": \"$org\"}" >/dev/null
call_at impact.v1.ImpactService SubmitAssessment \
  "{\"name\": \"$assessment\", \"decided_by\": \"$org\", \"reason\": \"ready\"}" >/dev/null
call_at impact.v1.ImpactService ReviewAssessment "{\"name\": \"$assessment\",
  \"reviewer\": \"groups/evaluation-board\", \"decision\": \"REVIEW_DECISION_APPROVED\",
  \"comment\": \"checked against the register\"}" | grep -q ASSESSMENT_STATE_COMPLETED
echo "$assessment completed"

show "CreateCapacityAssessment"
score() { echo "{\"score\": $1, \"evidence\": \"$2\"}"; }
levels="{\"individual\": $(score 3 'Training records'), \"organizational\": $(score 2 'Strategy'), \"system\": $(score 0 '')}"
round=$(call_at impact.v1.ImpactService CreateCapacityAssessment "{\"capacity_assessment\": {
  \"subject\": \"countries/FI\", \"round\": \"2026\",
  \"assess_date\": {\"year\": 2026, \"month\": 6, \"day\": 1},
  \"purpose\": $levels, \"potential\": $levels, \"capacity\": $levels, \"impact\": $levels,
  \"declaration\": {\"embrace_and_enhance\": $(score 4 'Innovation unit since 2019')}}}" | name_of)
echo "$round"

show "Every public collection as a stream (buf curl) and over HTTP (curl): the same records, nobody named"
stream_count() { # service method -> how many messages the stream sent
  npx --yes @bufbuild/buf@1.75.0 curl --protocol grpc --http2-prior-knowledge \
    -d '{}' "http://$addr/innolab.$1/$2" 2>/dev/null | tee -a "$exports" | grep -c '^{' || true
}
exports=$(mktemp)
for entry in \
  "membership.v1.MembershipService ExportOrganizations organizations" \
  "membership.v1.MembershipService ExportGroups groups" \
  "membership.v1.MembershipService ExportMemberships memberships" \
  "membership.v1.MembershipService ExportPosts posts" \
  "initiatives.v1.InitiativesService ExportInitiatives initiatives" \
  "initiatives.v1.InitiativesService ExportChallenges challenges" \
  "initiatives.v1.InitiativesService ExportInnovationCalls calls" \
  "initiatives.v1.InitiativesService ExportSubmissions submissions" \
  "guidance.v1.GuidanceService ExportDocuments documents" \
  "impact.v1.ImpactService ExportAssessments assessments" \
  "impact.v1.ImpactService ExportIndicators indicators" \
  "impact.v1.ImpactService ExportCapacityAssessments capacity-assessments"; do
  read -r service method collection <<<"$entry"
  streamed=$(stream_count "$service" "$method")
  lines=$(curl -sf "http://$addr/exports/$collection" | tee -a "$exports" | grep -c . || true)
  rows=$(curl -sf "http://$addr/exports/$collection.csv" | grep -c . || true)
  echo "$collection: $streamed streamed, $lines NDJSON lines, $rows CSV lines (a header)"
  if [[ "$streamed" -lt 1 || "$streamed" != "$lines" || "$rows" != $((lines + 1)) ]]; then
    echo "$collection: the stream and the HTTP export disagree, or it is empty" >&2
    exit 1
  fi
done
if grep -o 'people/[A-Za-z0-9-]*' "$exports" | head -n 3 | grep .; then
  echo "an export names a person (above)" >&2
  exit 1
fi
rm -f "$exports"
printf '\nopen-data tour ok\n'
