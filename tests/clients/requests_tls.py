"""The gateway over TLS as a Python integrator calls it: `requests` (HTTP/1.1
only, so this also proves ALPN offers http/1.1 beside h2 on the TLS port),
verifying the gateway's certificate against the CA file given.

    python requests_tls.py <https-base-url> <ca-file>

Prints `ok <what>` or `FAIL <what>: <why>` per check; exits 1 if any failed.
scripts/http-tls.sh runs it.
"""

import json
import sys
import uuid

import requests

MEMBERSHIP = "innolab.membership.v1.MembershipService"


def main() -> int:
    if len(sys.argv) != 3:
        print(__doc__, file=sys.stderr)
        return 2
    base, ca = sys.argv[1].rstrip("/"), sys.argv[2]
    session = requests.Session()
    # Only the CA given here, and no proxy: requests would otherwise take
    # REQUESTS_CA_BUNDLE or a proxy from the environment over these.
    session.trust_env = False
    session.verify = ca
    failures = 0

    def check(what, body):
        nonlocal failures
        try:
            body()
            print(f"ok   {what}")
        except Exception as e:  # noqa: BLE001 - any failure is reported, the run goes on
            failures += 1
            print(f"FAIL {what}: {e}")

    def post(method, payload, headers=None):
        return session.post(f"{base}/{MEMBERSHIP}/{method}", data=payload, headers=headers, timeout=15)

    def connect_error(r, status):
        """The Connect error JSON of an answer that must be one, with `status`."""
        assert r.status_code == status, f"HTTP {r.status_code}: {r.text[:300]!r}"
        assert r.headers.get("Content-Type", "").startswith("application/json"), (
            f"HTTP {r.status_code}, Content-Type {r.headers.get('Content-Type')!r}: {r.text[:300]!r}"
        )
        err = r.json()
        assert isinstance(err.get("code"), str) and isinstance(err.get("message"), str), r.text[:300]
        return err

    run = uuid.uuid4().hex[:12]
    created = {}

    # A unary JSON call (Connect unary: POST application/json), with the
    # certificate verified against the CA and the answer read as proto3 JSON.
    def create():
        body = {
            "organization": {
                "displayNames": [{"languageCode": "sv", "text": f"Requests TLS check {run}"}],
                "identifiers": [{"scheme": "INNOLAB-CLIENT-CHECK", "value": f"requests-{run}"}],
                "kind": "ORGANIZATION_KIND_GOVERNMENT",
                "countryCode": "SE",
            },
            "requestId": f"requests-{run}",
        }
        r = post("CreateOrganization", json.dumps(body), headers={"Content-Type": "application/json"})
        assert r.status_code == 200, f"HTTP {r.status_code}: {r.text[:300]!r}"
        assert r.headers.get("Content-Type", "").startswith("application/json"), r.headers.get("Content-Type")
        org = r.json()
        assert org.get("name", "").startswith("organizations/"), org
        assert org.get("countryCode") == "SE", org
        assert r.raw.version == 11, f"HTTP version {r.raw.version}"
        created["name"] = org["name"]

    check("requests https http/1.1: CreateOrganization (application/json)", create)

    def read_back():
        assert created, "nothing was created"
        r = post("GetOrganization", json.dumps({"name": created["name"]}), headers={"Content-Type": "application/json"})
        assert r.status_code == 200, f"HTTP {r.status_code}: {r.text[:300]!r}"
        assert r.json()["name"] == created["name"], r.text[:300]

    check("requests https http/1.1: GetOrganization reads it back", read_back)

    # A form post (what requests sends for data=dict) is not a Connect call:
    # 415 with a Connect error body, never 200 and never stored.
    def unsupported():
        r = post("CreateOrganization", {"organization": "x"})
        assert r.request.headers["Content-Type"] == "application/x-www-form-urlencoded"
        connect_error(r, 415)

    check("requests https http/1.1: form-encoded POST is 415 with a JSON error", unsupported)

    # Bad input: HTTP 400 with the field violation readable in the error's details.
    def invalid():
        body = {"organization": {"displayNames": [{"languageCode": "sv", "text": "X"}],
                                 "kind": "ORGANIZATION_KIND_GOVERNMENT", "countryCode": "XX"}}
        r = post("CreateOrganization", json.dumps(body), headers={"Content-Type": "application/json"})
        err = connect_error(r, 400)
        assert err["code"] == "invalid_argument", err
        assert "organization.country_code" in r.text, r.text[:300]

    check("requests https http/1.1: INVALID_ARGUMENT is 400 naming the field", invalid)

    print("requests_tls.py: " + (f"{failures} checks failed" if failures else "every check passed"))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
