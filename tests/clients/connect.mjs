// The gateway as a TypeScript/JavaScript integrator sees it: the official
// Connect client (@connectrpc/connect-node) over the code protoc-gen-es
// generates from proto/, with no in-house helper in between.
//
//   node connect.mjs <base-url> [--http 1.1|2|both]
//
// <base-url> is the gateway, e.g. http://127.0.0.1:50050 (h2c or HTTP/1.1)
// or https://localhost:8443 (ALPN; trust its CA with NODE_EXTRA_CA_CERTS).
// --http picks the HTTP versions to try (default both; gRPC needs HTTP/2 and
// is left out with 1.1). scripts/http-clients.sh and scripts/http-tls.sh lay
// this file out beside node_modules/ (package.json here) and gen/ (the
// generated code: proto/ and google/rpc/error_details.proto) and run it.
//
// Each check prints `ok <what>` or `FAIL <what>: <why>`; the exit status is
// 1 when any failed.

import { Code, ConnectError, createClient } from "@connectrpc/connect";
import { createTransport } from "@connectrpc/connect/protocol-connect";
import {
  compressionGzip,
  createConnectTransport,
  createGrpcTransport,
  createGrpcWebTransport,
  createNodeHttpClient,
  Http2SessionManager,
} from "@connectrpc/connect-node";
import { MethodOptions_IdempotencyLevel } from "@bufbuild/protobuf/wkt";
import { BadRequestSchema } from "./gen/google/rpc/error_details_pb.js";
import { GatewayService } from "./gen/innolab/gateway/v1/gateway_pb.js";
import { InitiativesService } from "./gen/innolab/initiatives/v1/initiatives_pb.js";
import { MembershipService, OrganizationKind } from "./gen/innolab/membership/v1/membership_pb.js";

const args = process.argv.slice(2);
const baseUrl = args.find((a) => !a.startsWith("--"))?.replace(/\/$/, "");
const httpArg = args.includes("--http") ? args[args.indexOf("--http") + 1] : "both";
if (!baseUrl || !["1.1", "2", "both"].includes(httpArg)) {
  console.error("usage: node connect.mjs <base-url> [--http 1.1|2|both]");
  process.exit(2);
}
const httpVersions = httpArg === "both" ? ["1.1", "2"] : [httpArg];

// A word no other run has used: names, identifiers and request ids of this
// run carry it, so a search finds this run's records only.
const run = `ct${Date.now().toString(36)}${Math.floor(Math.random() * 1e6).toString(36)}`;
// Every call gives up after this long (a hung call is a failure, not a hang).
const CALL_LIMIT_MS = 15_000;
const limit = () => ({ signal: AbortSignal.timeout(CALL_LIMIT_MS) });

let failures = 0;
/** Runs one check: `ok what`, or `FAIL what: why` and counts it. */
async function check(what, body) {
  try {
    await body();
    console.log(`ok   ${what}`);
  } catch (e) {
    failures++;
    const why = e instanceof ConnectError ? `${Code[e.code]}: ${e.rawMessage}` : (e?.message ?? String(e));
    console.log(`FAIL ${what}: ${why}`);
  }
}
function expect(condition, why) {
  if (!condition) throw new Error(why);
}
/** Runs `call`, which must fail with `code`; returns the ConnectError. */
async function refused(code, call) {
  try {
    await call();
  } catch (e) {
    const err = ConnectError.from(e);
    expect(err.code === code, `expected ${Code[code]}, got ${Code[err.code]}: ${err.rawMessage}`);
    return err;
  }
  throw new Error(`expected ${Code[code]}, the call succeeded`);
}

/**
 * A Connect transport whose HTTP requests are recorded as they go on the
 * wire: method, URL, Content-Encoding sent and received. The Connect client
 * turns a POST into a GET (useHttpGet) below its interceptors, so only the
 * HTTP client sees the method. It is connect-node's own transport
 * (createConnectTransport is this with defaults), with connect-node's HTTP
 * client wrapped.
 */
function recordedTransport({ httpVersion, ...options }) {
  const seen = [];
  const session = httpVersion === "2" ? new Http2SessionManager(baseUrl) : undefined;
  const client = session
    ? createNodeHttpClient({ httpVersion, sessionProvider: () => session })
    : createNodeHttpClient({ httpVersion });
  const httpClient = async (request) => {
    const entry = { method: request.method, url: request.url, sentEncoding: request.header.get("content-encoding") };
    seen.push(entry);
    const response = await client(request);
    entry.status = response.status;
    entry.contentEncoding = response.header.get("content-encoding");
    return response;
  };
  const transport = createTransport({
    baseUrl,
    httpClient,
    useBinaryFormat: false,
    interceptors: [],
    acceptCompression: [compressionGzip],
    sendCompression: null,
    compressMinBytes: 1024,
    readMaxBytes: 0xffffffff,
    writeMaxBytes: 0xffffffff,
    ...options,
  });
  return { transport, seen };
}

function organization(n, country = "DK") {
  return {
    displayNames: [{ languageCode: "en", text: `Connect client check ${run} ${n}` }],
    identifiers: [{ scheme: "INNOLAB-CLIENT-CHECK", value: `${run}-${n}` }],
    kind: OrganizationKind.GOVERNMENT,
    countryCode: country,
    homepageUri: "https://example.gov",
  };
}

let requests = 0;
const requestId = () => `${run}-${++requests}`;

// What the checks read: an organisation and an initiative it leads, created
// over gRPC (HTTP/2), the path these checks are not about, so that each
// check below stands on its own.
let fixture = "";
let initiative = "";
try {
  const grpc = createGrpcTransport({ baseUrl, httpVersion: "2" });
  fixture = (
    await createClient(MembershipService, grpc).createOrganization(
      { organization: organization("fixture"), requestId: requestId() },
      limit(),
    )
  ).name;
  initiative = (
    await createClient(InitiativesService, grpc).createInitiative(
      {
        initiative: { titles: [{ languageCode: "en", text: `Connect client check ${run}` }], leadOrganization: fixture, countryCode: "DK" },
        actor: "people/connect-client",
        requestId: requestId(),
      },
      limit(),
    )
  ).name;
} catch (e) {
  console.log(`FAIL creating what the checks read over gRPC: ${e?.message ?? e}`);
  process.exit(1);
}

// --- Connect: unary, JSON and binary, over each HTTP version -------------
for (const httpVersion of httpVersions) {
  for (const binary of [false, true]) {
    const label = `connect ${binary ? "proto" : "json"} http/${httpVersion}`;
    const membership = createClient(
      MembershipService,
      createConnectTransport({ baseUrl, httpVersion, useBinaryFormat: binary }),
    );
    let name = "";
    // A write: POST application/json or application/proto, answered in kind.
    await check(`${label}: CreateOrganization`, async () => {
      const org = await membership.createOrganization({ organization: organization(label), requestId: requestId() }, limit());
      expect(org.name.startsWith("organizations/"), `no resource name in ${JSON.stringify(org.name)}`);
      expect(org.countryCode === "DK", `country ${org.countryCode}`);
      name = org.name;
    });
    await check(`${label}: GetOrganization`, async () => {
      const org = await membership.getOrganization({ name: fixture }, limit());
      expect(org.name === fixture, `got ${org.name}`);
    });
    await check(`${label}: ListOrganizations finds this run's organisations`, async () => {
      const page = await membership.listOrganizations({ filter: `"${run}"`, pageSize: 100 }, limit());
      const names = page.organizations.map((o) => o.name);
      expect(names.includes(fixture), `${fixture} not among ${names.length}`);
      expect(!name || names.includes(name), `${name}, made by CreateOrganization above, not among ${names.length}`);
    });
    // Bad input: INVALID_ARGUMENT with google.rpc.BadRequest naming the field,
    // decoded from the Connect error's details by the client itself.
    await check(`${label}: INVALID_ARGUMENT with the BadRequest field violation`, async () => {
      const err = await refused(Code.InvalidArgument, () =>
        membership.createOrganization({ organization: organization(`${label} bad`, "XX") }, limit()),
      );
      const fields = err.findDetails(BadRequestSchema).flatMap((b) => b.fieldViolations.map((v) => v.field));
      expect(fields.includes("organization.country_code"), `field violations: ${JSON.stringify(fields)}`);
    });
    await check(`${label}: NOT_FOUND`, async () => {
      await refused(Code.NotFound, () =>
        membership.getOrganization({ name: "organizations/does-not-exist" }, limit()),
      );
    });
  }
}

// --- Connect: GET for methods without side effects ----------------------
// The client sends GET ?connect=v1&encoding=...&message=... only for methods
// the descriptors mark NO_SIDE_EFFECTS: a POST here means the protos lack it.
for (const httpVersion of httpVersions) {
  for (const binary of [false, true]) {
    const label = `connect GET ${binary ? "proto" : "json"} http/${httpVersion}`;
    const { transport, seen } = recordedTransport({ httpVersion, useBinaryFormat: binary, useHttpGet: true });
    const membership = createClient(MembershipService, transport);
    const gateway = createClient(GatewayService, transport);
    const viaGet = (method) => {
      const sent = seen.at(-1);
      expect(
        sent?.method === "GET",
        `sent with ${sent?.method}` +
          (method.idempotency === MethodOptions_IdempotencyLevel.NO_SIDE_EFFECTS ? "" : ` (${method.name} is not NO_SIDE_EFFECTS in the protos)`),
      );
      expect(/[?&]connect=v1(&|$)/.test(sent.url), `no connect=v1 in ${sent.url}`);
    };
    await check(`${label}: MembershipService/GetOrganization`, async () => {
      const org = await membership.getOrganization({ name: fixture }, limit());
      expect(org.name === fixture, `got ${org.name}`);
      viaGet(MembershipService.method.getOrganization);
    });
    await check(`${label}: MembershipService/ListOrganizations`, async () => {
      const page = await membership.listOrganizations({ filter: `"${run}"` }, limit());
      expect(page.organizations.length > 0, "found none of this run's organisations");
      viaGet(MembershipService.method.listOrganizations);
    });
    await check(`${label}: GatewayService/GetOrganizationProfile`, async () => {
      const profile = await gateway.getOrganizationProfile({ name: fixture }, limit());
      expect(profile.organization?.name === fixture, `got ${profile.organization?.name}`);
      viaGet(GatewayService.method.getOrganizationProfile);
    });
  }
}

// --- Connect: gzip both ways ----------------------------------------------
// The request body is gzip (Content-Encoding: gzip); the client accepts gzip
// (Accept-Encoding), and the answer comes back gzip-compressed.
for (const httpVersion of httpVersions) {
  const label = `connect gzip http/${httpVersion}`;
  const { transport, seen } = recordedTransport({ httpVersion, sendCompression: compressionGzip, compressMinBytes: 0 });
  const membership = createClient(MembershipService, transport);
  await check(`${label}: gzip request (Content-Encoding: gzip)`, async () => {
    const page = await membership.listOrganizations({ filter: `"${run}"`, pageSize: 100 }, limit());
    expect(seen.at(-1)?.sentEncoding === "gzip", `sent with Content-Encoding: ${seen.at(-1)?.sentEncoding}`);
    expect(page.organizations.length > 0, "found none of this run's organisations");
  });
  await check(`${label}: gzip answer (Accept-Encoding: gzip)`, async () => {
    await membership.listOrganizations({ filter: `"${run}"`, pageSize: 100 }, limit());
    expect(seen.at(-1)?.contentEncoding === "gzip", `Content-Encoding: ${seen.at(-1)?.contentEncoding ?? "(none)"}`);
  });
}

// --- Connect: server streaming ----------------------------------------------
// The merged change feed from the beginning, followed until it shows an
// organisation this run created, then aborted (as a client that has what it
// needs does); and the open-data export, read to its end.
for (const httpVersion of httpVersions) {
  for (const binary of [false, true]) {
    const label = `connect stream ${binary ? "proto" : "json"} http/${httpVersion}`;
    const transport = createConnectTransport({ baseUrl, httpVersion, useBinaryFormat: binary });
    await check(`${label}: GatewayService/StreamChanges (follow) reaches this run's organisation`, async () => {
      const wanted = fixture;
      const abort = new AbortController();
      const timer = setTimeout(() => abort.abort(new Error("not seen within 15 s")), CALL_LIMIT_MS);
      let count = 0;
      let seenIt = false;
      try {
        const gateway = createClient(GatewayService, transport);
        for await (const item of gateway.streamChanges({ cursor: "", follow: true }, { signal: abort.signal })) {
          count++;
          expect(item.cursor, "a change without a cursor");
          if (item.service === "membership" && item.change?.resource === wanted) {
            seenIt = true;
            abort.abort();
            break;
          }
        }
      } catch (e) {
        if (!seenIt) throw e;
      } finally {
        clearTimeout(timer);
      }
      expect(seenIt, `the stream ended after ${count} changes without ${wanted}`);
    });
    await check(`${label}: InitiativesService/ExportInitiatives to its end`, async () => {
      const initiatives = createClient(InitiativesService, transport);
      let found = false;
      for await (const row of initiatives.exportInitiatives({}, limit())) {
        if (row.initiative?.name === initiative) found = true;
      }
      expect(found, `${initiative} not exported`);
    });
  }
}

// --- Connect: deadline ------------------------------------------------------
// timeoutMs is sent as Connect-Timeout-Ms; a followed feed never ends by
// itself, so the call ends with DEADLINE_EXCEEDED (the client enforces the
// deadline too: scripts/http-clients.sh checks the gateway's side with curl).
for (const httpVersion of httpVersions) {
  await check(`connect deadline http/${httpVersion}: timeoutMs on a followed StreamChanges`, async () => {
    const gateway = createClient(GatewayService, createConnectTransport({ baseUrl, httpVersion }));
    const started = Date.now();
    await refused(Code.DeadlineExceeded, async () => {
      for await (const _ of gateway.streamChanges({ follow: true }, { timeoutMs: 500 })) {
        // read until the deadline
      }
    });
    expect(Date.now() - started < 5_000, `took ${Date.now() - started} ms`);
  });
}

// --- gRPC-Web (browsers; tonic-web) and gRPC --------------------------------
// gRPC-Web in its binary form (application/grpc-web+proto), as browsers send it.
for (const httpVersion of httpVersions) {
  await check(`grpc-web http/${httpVersion}: GetOrganization`, async () => {
    const membership = createClient(MembershipService, createGrpcWebTransport({ baseUrl, httpVersion }));
    const org = await membership.getOrganization({ name: fixture }, limit());
    expect(org.name === fixture, `got ${org.name}`);
  });
}
if (httpVersions.includes("2")) {
  await check("grpc http/2: GetOrganization", async () => {
    const membership = createClient(MembershipService, createGrpcTransport({ baseUrl, httpVersion: "2" }));
    const org = await membership.getOrganization({ name: fixture }, limit());
    expect(org.name === fixture, `got ${org.name}`);
  });
  await check("grpc http/2: INVALID_ARGUMENT with the BadRequest field violation", async () => {
    const membership = createClient(MembershipService, createGrpcTransport({ baseUrl, httpVersion: "2" }));
    const err = await refused(Code.InvalidArgument, () =>
      membership.createOrganization({ organization: organization("grpc bad", "XX") }, limit()),
    );
    const fields = err.findDetails(BadRequestSchema).flatMap((b) => b.fieldViolations.map((v) => v.field));
    expect(fields.includes("organization.country_code"), `field violations: ${JSON.stringify(fields)}`);
  });
}

console.log(failures ? `connect.mjs: ${failures} checks failed` : "connect.mjs: every check passed");
process.exit(failures ? 1 : 0);
