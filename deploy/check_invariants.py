"""Invariants of the rendered innolab manifests that generic checkers miss.

Run by deploy/check.sh with the rendered overlays' directory as argument:
every pod template must keep the probes' meaning, the shutdown timing and the
restricted security context; the overlays must keep their shape (dev: one
writer on SQLite; prod: PDB, HPA and spread for every Deployment); every
overlay must run the same image. Where a rendering holds a CloudNativePG
Cluster, every database client must be wired to it (its -rw Service,
verify-full against its CA, its own role, that role's password as a file
of its Secret, its schema); where it holds a PodMonitor, it must scrape
every Deployment's metrics port; and the scrape job's name must agree
between the PodMonitor, deploy/prometheus/scrape-config.yaml and the alert
rules. A production gateway's audit keys
must be files of a Secret only its user can read, and its checkpoint file on
a writable volume of its own; it must keep webhook subscriptions (their
database set), without a setting production refuses at start.
"""

import pathlib
import re
import sys
import urllib.parse

import yaml

PROMETHEUS_DIR = pathlib.Path(__file__).resolve().parent / "prometheus"

# Secrets that prod reads but that are never rendered (the operator makes
# them); each must have its example in deploy/k8s/examples/.
EXTERNAL_SECRETS_OPTIONAL = {"innolab-dev"}
# Secrets mounted as files that other tools make, each with its own recipe in
# deploy/README.md: the gateway's server certificate (cert-manager or
# `kubectl create secret tls`) and the CloudNativePG cluster's CA (the
# operator makes it).
MADE_ELSEWHERE = {"innolab-gateway-tls", "innolab-db-ca"}

failures = []


def fail(where, message):
    failures.append(f"{where}: {message}")


def env_value(container, configmaps, name):
    for item in container.get("env", []):
        if item["name"] == name:
            return item.get("value")
    for source in container.get("envFrom", []):
        ref = source.get("configMapRef", {}).get("name")
        if ref in configmaps and name in configmaps[ref]:
            return configmaps[ref][name]
    return None


def check_pod(where, spec, configmaps, long_running, annotations):
    if spec.get("automountServiceAccountToken") is not False:
        fail(where, "automountServiceAccountToken must be false")
    pod_sc = spec.get("securityContext", {})
    for key, want in (("runAsNonRoot", True), ("runAsUser", 65532), ("runAsGroup", 65532)):
        if pod_sc.get(key) != want:
            fail(where, f"pod securityContext.{key} must be {want}")
    if pod_sc.get("seccompProfile", {}).get("type") != "RuntimeDefault":
        fail(where, "pod seccompProfile must be RuntimeDefault")
    for c in spec.get("initContainers", []) + spec["containers"]:
        cw = f"{where}/{c['name']}"
        sc = c.get("securityContext", {})
        if sc.get("readOnlyRootFilesystem") is not True:
            fail(cw, "readOnlyRootFilesystem must be true")
        if sc.get("allowPrivilegeEscalation") is not False:
            fail(cw, "allowPrivilegeEscalation must be false")
        if sc.get("capabilities", {}).get("drop") != ["ALL"]:
            fail(cw, "capabilities must drop ALL")
        res = c.get("resources", {})
        for kind in ("requests", "limits"):
            for r in ("cpu", "memory"):
                if r not in res.get(kind, {}):
                    fail(cw, f"resources.{kind}.{r} missing")
        if not long_running:
            continue
        ports = {p["name"]: p["containerPort"] for p in c.get("ports", [])}
        if set(ports) - {"probe"} != {"grpc", "metrics"}:
            fail(cw, "ports must be named grpc and metrics, and probe if any (the NetworkPolicies use the names)")
        grpc_port = ports.get("grpc")
        # A TLS listener cannot be probed natively: then health is also
        # served in plaintext on INNOLAB_PROBE_ADDR, the "probe" port.
        probe_addr = env_value(c, configmaps, "INNOLAB_PROBE_ADDR")
        tls = env_value(c, configmaps, "INNOLAB_TLS_CERT_FILE")
        if tls and not probe_addr:
            fail(cw, "a TLS gateway needs INNOLAB_PROBE_ADDR: Kubernetes gRPC probes cannot speak TLS")
        if probe_addr and probe_addr != f"0.0.0.0:{ports.get('probe')}":
            fail(cw, f"INNOLAB_PROBE_ADDR {probe_addr!r} must be 0.0.0.0:{ports.get('probe')} (the probe port)")
        probe_port = ports.get("probe") if probe_addr else grpc_port
        for probe, service in (("startupProbe", "liveness"), ("readinessProbe", ""), ("livenessProbe", "liveness")):
            grpc = c.get(probe, {}).get("grpc")
            if grpc is None:
                fail(cw, f"{probe} must be a native gRPC probe")
            elif grpc.get("port") != probe_port or grpc.get("service") != service:
                fail(cw, f"{probe} must ask service {service!r} on port {probe_port}")
        listen = env_value(c, configmaps, "INNOLAB_LISTEN_ADDR") or ""
        if listen != f"0.0.0.0:{grpc_port}":
            fail(cw, f"INNOLAB_LISTEN_ADDR {listen!r} must be 0.0.0.0:{grpc_port}")
        metrics = env_value(c, configmaps, "INNOLAB_METRICS_ADDR") or ""
        if metrics != f"0.0.0.0:{ports.get('metrics')}":
            fail(cw, f"INNOLAB_METRICS_ADDR {metrics!r} must be 0.0.0.0:{ports.get('metrics')}")
        # The annotations that scrape-config.yaml follows must name the same port.
        want = {"prometheus.io/scrape": "true", "prometheus.io/port": str(ports.get("metrics")), "prometheus.io/path": "/metrics"}
        for key, value in want.items():
            if annotations.get(key) != value:
                fail(cw, f"pod annotation {key} must be {value!r}, found {annotations.get(key)!r}")
        sleep = c.get("lifecycle", {}).get("preStop", {}).get("sleep", {}).get("seconds")
        drain = env_value(c, configmaps, "INNOLAB_SHUTDOWN_DRAIN_SECONDS")
        grace = spec.get("terminationGracePeriodSeconds", 30)
        if sleep is None or drain is None:
            fail(cw, "needs a preStop sleep and INNOLAB_SHUTDOWN_DRAIN_SECONDS")
        elif grace <= sleep + int(drain):
            fail(cw, f"terminationGracePeriodSeconds {grace} must exceed preStop {sleep} + drain {drain}")


def mounted_from(container, volumes, path):
    """(volume, mount) that holds the file at `path` in `container`, if any."""
    for m in container.get("volumeMounts", []):
        if path.startswith(m["mountPath"].rstrip("/") + "/"):
            return volumes.get(m["name"], {}), m
    return None, None


def check_audit_keys(where, spec, configmaps):
    """A production gateway's audit keys are files of a Secret, readable by
    no other user, and its checkpoint file is on a writable volume of its
    own; production refuses to start without the keys, so a manifest
    without them would never become ready."""
    volumes = {v["name"]: v for v in spec.get("volumes", [])}
    for c in spec["containers"]:
        cw = f"{where}/{c['name']}"
        if env_value(c, configmaps, "INNOLAB_ENVIRONMENT") != "production":
            continue
        env = {e["name"]: e for e in c.get("env", [])}
        if "INNOLAB_AUDIT_DATABASE_URL" not in env and "INNOLAB_AUDIT_DATABASE_URL_FILE" not in env:
            continue
        for name in ("INNOLAB_AUDIT_SIGNING_KEY_FILE", "INNOLAB_AUDIT_USER_KEY_FILE"):
            path = env.get(name, {}).get("value")
            if not path:
                fail(cw, f"production keeps an audit log: {name} must name a file")
                continue
            volume, mount = mounted_from(c, volumes, path)
            secret = (volume or {}).get("secret")
            if not secret or not mount.get("readOnly"):
                fail(cw, f"{name} {path} must be a file of a Secret, mounted readOnly")
                continue
            if secret.get("defaultMode", 0o644) & 0o077 & ~0o040:
                fail(cw, f"{name}: the Secret volume's defaultMode must let no other user read it (0400)")
        path = env.get("INNOLAB_AUDIT_CHECKPOINT_FILE", {}).get("value")
        volume, mount = mounted_from(c, volumes, path) if path else (None, None)
        if not volume or mount.get("readOnly") or "secret" in volume or "configMap" in volume:
            fail(cw, "INNOLAB_AUDIT_CHECKPOINT_FILE must be on a writable volume of its own (outside the audit database)")


def check_webhooks(where, spec, configmaps):
    """A production gateway keeps webhook subscriptions: without their
    database it starts, but delivers nothing and answers every subscription
    call FAILED_PRECONDITION, which no probe shows. Settings production
    refuses would stop it at start (exit 2)."""
    volumes = {v["name"]: v for v in spec.get("volumes", [])}
    for c in spec["containers"]:
        cw = f"{where}/{c['name']}"
        if env_value(c, configmaps, "INNOLAB_ENVIRONMENT") != "production":
            continue
        env = {e["name"]: e for e in c.get("env", [])}
        url = env.get("INNOLAB_SUBSCRIPTIONS_DATABASE_URL")
        url_file = env.get("INNOLAB_SUBSCRIPTIONS_DATABASE_URL_FILE")
        if url is None and url_file is None:
            fail(cw, "production delivers webhooks: INNOLAB_SUBSCRIPTIONS_DATABASE_URL or _URL_FILE must be set")
        if url is not None and urllib.parse.urlsplit(url.get("value") or "").password:
            fail(cw, "INNOLAB_SUBSCRIPTIONS_DATABASE_URL must not carry a password (_URL_FILE or _PASSWORD_FILE)")
        if url_file is not None:
            path = url_file.get("value") or ""
            volume, mount = mounted_from(c, volumes, path)
            if not (volume or {}).get("secret") or not mount.get("readOnly"):
                fail(cw, f"INNOLAB_SUBSCRIPTIONS_DATABASE_URL_FILE {path!r} must be a file of a Secret, mounted readOnly")
        if env_value(c, configmaps, "INNOLAB_WEBHOOK_ALLOW_PRIVATE") not in (None, "", "false"):
            fail(cw, "production refuses INNOLAB_WEBHOOK_ALLOW_PRIVATE (exit 2)")
        disable_after = env_value(c, configmaps, "INNOLAB_WEBHOOK_DISABLE_AFTER_SECONDS")
        if disable_after and disable_after.strip().isdigit() and int(disable_after) < 86400:
            fail(cw, "production refuses INNOLAB_WEBHOOK_DISABLE_AFTER_SECONDS below 86400 (exit 2)")


def check_file(path, images):
    docs = [d for d in yaml.safe_load_all(path.read_text()) if d]
    where_file = path.name
    configmaps = {d["metadata"]["name"]: d.get("data", {}) for d in docs if d["kind"] == "ConfigMap"}
    by_kind = {}
    for d in docs:
        by_kind.setdefault(d["kind"], {})[d["metadata"]["name"]] = d
    for ns in by_kind.get("Namespace", {}).values():
        labels = ns["metadata"].get("labels", {})
        for mode in ("enforce", "audit", "warn"):
            if labels.get(f"pod-security.kubernetes.io/{mode}") != "restricted":
                fail(f"{where_file}: Namespace {ns['metadata']['name']}", f"must {mode} the restricted standard")
    for kind in ("Deployment", "Job"):
        for name, d in by_kind.get(kind, {}).items():
            where = f"{where_file}: {kind} {name}"
            spec = d["spec"]["template"]["spec"]
            for c in spec["containers"]:
                images.setdefault(c["image"], set()).add(where)
            annotations = d["spec"]["template"]["metadata"].get("annotations", {})
            check_pod(where, spec, configmaps, long_running=kind == "Deployment", annotations=annotations)
            check_audit_keys(where, spec, configmaps)
            check_webhooks(where, spec, configmaps)
    deployments = by_kind.get("Deployment", {})
    if where_file == "dev.yaml":
        for name, d in deployments.items():
            if d["spec"].get("replicas") != 1 or d["spec"].get("strategy", {}).get("type") != "Recreate":
                fail(f"dev.yaml: Deployment {name}", "one SQLite writer: replicas 1 and strategy Recreate")
    elif where_file.startswith("prod"):
        pdbs = {p["spec"]["selector"]["matchLabels"].get("app.kubernetes.io/name") for p in by_kind.get("PodDisruptionBudget", {}).values()}
        hpas = {h["spec"]["scaleTargetRef"]["name"]: h["spec"] for h in by_kind.get("HorizontalPodAutoscaler", {}).values()}
        for name, d in deployments.items():
            where = f"{where_file}: Deployment {name}"
            if "replicas" in d["spec"]:
                fail(where, "leave replicas to the HorizontalPodAutoscaler")
            if name not in pdbs:
                fail(where, "no PodDisruptionBudget")
            if hpas.get(name, {}).get("minReplicas", 0) < 2:
                fail(where, "needs a HorizontalPodAutoscaler with minReplicas >= 2")
            keys = {t["topologyKey"] for t in d["spec"]["template"]["spec"].get("topologySpreadConstraints", [])}
            if not {"kubernetes.io/hostname", "topology.kubernetes.io/zone"} <= keys:
                fail(where, "needs topology spread over nodes and zones")
        if len(deployments) != 5:
            fail(where_file, f"expected the gateway and four services, found {sorted(deployments)}")
    check_cloudnativepg(where_file, by_kind, configmaps)
    return docs, check_podmonitors(where_file, by_kind)


def cluster_schemas(cluster):
    """{schema: owner role} created by the Cluster's bootstrap SQL."""
    sql = cluster["spec"].get("bootstrap", {}).get("initdb", {}).get("postInitApplicationSQL", [])
    schemas = {}
    for statement in sql:
        m = re.fullmatch(r"CREATE SCHEMA (\w+) AUTHORIZATION (\w+)", statement.strip())
        if m:
            schemas[m.group(1)] = m.group(2)
    return schemas


def check_cloudnativepg(where_file, by_kind, configmaps):
    """Every database client of a rendering with a Cluster is wired to it."""
    clusters = by_kind.get("Cluster", {})
    if not clusters:
        return
    if len(clusters) != 1:
        fail(where_file, f"expected one CloudNativePG Cluster, found {sorted(clusters)}")
        return
    name, cluster = next(iter(clusters.items()))
    cw = f"{where_file}: Cluster {name}"
    spec = cluster["spec"]
    if spec.get("instances", 1) < 3:
        fail(cw, "needs at least 3 instances (a primary and two replicas)")
    affinity = spec.get("affinity", {})
    if affinity.get("enablePodAntiAffinity") is False or affinity.get("podAntiAffinityType") != "required":
        fail(cw, "instances need required pod anti-affinity (one per node)")
    if "hostnossl all all all reject" not in spec.get("postgresql", {}).get("pg_hba", []):
        fail(cw, "pg_hba must refuse connections without TLS (hostnossl all all all reject)")
    if not spec.get("backup", {}).get("barmanObjectStore", {}).get("destinationPath"):
        fail(cw, "needs backups to an object store")
    for sb_name, sb in by_kind.get("ScheduledBackup", {}).items():
        if sb["spec"]["cluster"]["name"] != name:
            fail(f"{where_file}: ScheduledBackup {sb_name}", f"backs up {sb['spec']['cluster']['name']!r}, not {name!r}")
    if not by_kind.get("ScheduledBackup"):
        fail(cw, "needs a ScheduledBackup")
    database = spec["bootstrap"]["initdb"]["database"]
    roles = {}
    for role in spec.get("managed", {}).get("roles", []):
        if role.get("ensure", "present") == "present" and role.get("login"):
            secret = role.get("passwordSecret", {}).get("name")
            if not secret:
                fail(cw, f"role {role['name']} needs a passwordSecret")
            roles[role["name"]] = secret
    schemas = cluster_schemas(cluster)
    for schema, owner in schemas.items():
        if owner not in roles:
            fail(cw, f"schema {schema} belongs to {owner}, which is not a managed login role")
    ca_secret = f"{name}-ca"
    used_roles = {}
    for kind in ("Deployment", "Job"):
        for d_name, d in by_kind.get(kind, {}).items():
            pod = d["spec"]["template"]["spec"]
            volumes = {v["name"]: v for v in pod.get("volumes", [])}
            for c in pod["containers"]:
                env = {e["name"]: e for e in c.get("env", [])}
                # Each database a binary reads, by its variables; the CA may
                # also be sslrootcert in the URL.
                for url_var, schema_var, schema_default, password_var, ca_var in (
                    (
                        "INNOLAB_DATABASE_URL",
                        "INNOLAB_DATABASE_SCHEMA",
                        None,
                        "INNOLAB_DATABASE_PASSWORD_FILE",
                        "INNOLAB_DATABASE_CA_FILE",
                    ),
                    (
                        "INNOLAB_AUDIT_DATABASE_URL",
                        "INNOLAB_AUDIT_DATABASE_SCHEMA",
                        "audit",
                        "INNOLAB_AUDIT_DATABASE_PASSWORD_FILE",
                        "INNOLAB_AUDIT_DATABASE_CA_FILE",
                    ),
                    (
                        "INNOLAB_SUBSCRIPTIONS_DATABASE_URL",
                        "INNOLAB_SUBSCRIPTIONS_DATABASE_SCHEMA",
                        "subscriptions",
                        "INNOLAB_SUBSCRIPTIONS_DATABASE_PASSWORD_FILE",
                        "INNOLAB_SUBSCRIPTIONS_DATABASE_CA_FILE",
                    ),
                ):
                    if url_var not in env:
                        continue
                    w = f"{where_file}: {kind} {d_name}/{c['name']} {url_var}"
                    url = env[url_var].get("value")
                    if url is None:
                        fail(w, f"must point at the Cluster {name} (it still comes from a Secret)")
                        continue
                    u = urllib.parse.urlsplit(url)
                    query = dict(urllib.parse.parse_qsl(u.query))
                    if u.hostname != f"{name}-rw" or (u.port or 5432) != 5432:
                        fail(w, f"must point at the primary's Service {name}-rw:5432, not {u.hostname}:{u.port}")
                    if u.path.lstrip("/") != database:
                        fail(w, f"must use the database {database!r}")
                    if u.password:
                        fail(w, f"must not carry a password ({password_var} reads it from the role's Secret)")
                    if query.get("sslmode") != "verify-full":
                        fail(w, "must set sslmode=verify-full")
                    role = u.username
                    if role not in roles:
                        fail(w, f"connects as {role!r}, not a managed role of {name}")
                        continue
                    used_roles.setdefault(role, set()).add(d_name)
                    if "PGPASSWORD" in env:
                        fail(w, f"no PGPASSWORD: the password is a file ({password_var})")
                    password_file = env.get(password_var, {}).get("value")
                    if not password_file:
                        fail(w, f"needs {password_var}, the file of Secret {roles[role]} key password")
                    elif not mounted_alone(c, volumes, password_file, roles[role], "password"):
                        fail(w, f"{password_file} must be the key password of Secret {roles[role]}, mounted alone")
                    schema = env.get(schema_var, {}).get("value") or env_value(c, configmaps, schema_var) or schema_default
                    if schemas.get(schema) != role:
                        fail(w, f"schema {schema!r} must be created by the Cluster's bootstrap for {role}")
                    ca_file = query.get("sslrootcert") or env.get(ca_var, {}).get("value")
                    if not ca_file:
                        fail(w, f"needs the CA: {ca_var} or sslrootcert in the URL")
                        continue
                    if not mounted_alone(c, volumes, ca_file, ca_secret, "ca.crt"):
                        fail(w, f"{ca_file} must be ca.crt of Secret {ca_secret}, mounted alone (never ca.key)")
    for role, users in used_roles.items():
        if len({u.removeprefix("innolab-migrate-").removeprefix("innolab-") for u in users}) > 1:
            fail(cw, f"role {role} is shared by {sorted(users)}: one role per service")


def mounted_alone(container, volumes, path, secret_name, key):
    """Whether `path` in `container` is the file of `key` of Secret
    `secret_name`, from a volume of that key only."""
    mounted = False
    for m in container.get("volumeMounts", []):
        if path.startswith(m["mountPath"].rstrip("/") + "/"):
            secret = volumes.get(m["name"], {}).get("secret", {})
            items = {i["key"]: i["path"] for i in secret.get("items", [])}
            rel = path[len(m["mountPath"].rstrip("/")) + 1:]
            mounted = secret.get("secretName") == secret_name and items == {key: rel}
    return mounted


def check_podmonitors(where_file, by_kind):
    """A PodMonitor scrapes every Deployment on its metrics port, as job "innolab"."""
    jobs = set()
    for pm_name, pm in by_kind.get("PodMonitor", {}).items():
        w = f"{where_file}: PodMonitor {pm_name}"
        selector = pm["spec"]["selector"].get("matchLabels", {})
        for d_name, d in by_kind.get("Deployment", {}).items():
            labels = d["spec"]["template"]["metadata"].get("labels", {})
            if any(labels.get(k) != v for k, v in selector.items()):
                fail(w, f"does not select the pods of Deployment {d_name}")
        for ep in pm["spec"]["podMetricsEndpoints"]:
            if ep.get("port") != "metrics" or ep.get("path", "/metrics") != "/metrics":
                fail(w, "must scrape the port named metrics at /metrics")
            job = [r.get("replacement") for r in ep.get("relabelings", []) if r.get("targetLabel") == "job"]
            jobs.update(job or [f"{pm['metadata'].get('namespace')}/{pm_name}"])
    return jobs


def check_scrape_job(podmonitor_jobs):
    """scrape-config.yaml, the PodMonitors and the alert rules name one job."""
    scrape = yaml.safe_load((PROMETHEUS_DIR / "scrape-config.yaml").read_text())
    names = {c["job_name"] for c in scrape["scrape_configs"]}
    alerts = (PROMETHEUS_DIR / "alerts.yaml").read_text()
    in_rules = set(re.findall(r'job="([^"]+)"', alerts))
    every = names | podmonitor_jobs | in_rules
    if len(every) != 1:
        fail("prometheus", f"one job name for the innolab targets: scrape-config {sorted(names)}, PodMonitor {sorted(podmonitor_jobs)}, alerts {sorted(in_rules)}")


def main():
    root = pathlib.Path(sys.argv[1])
    images = {}
    secret_refs = set()
    example_secrets = set()
    podmonitor_jobs = set()
    for path in sorted(root.glob("*.yaml")):
        docs, jobs = check_file(path, images)
        podmonitor_jobs |= jobs
        for d in docs:
            if d["kind"] == "Secret":
                example_secrets.add(d["metadata"]["name"])
            if d["kind"] == "Cluster":
                # The Secrets the CloudNativePG Cluster reads.
                for role in d["spec"].get("managed", {}).get("roles", []):
                    if "passwordSecret" in role:
                        secret_refs.add(role["passwordSecret"]["name"])
                for cred in d["spec"].get("backup", {}).get("barmanObjectStore", {}).get("s3Credentials", {}).values():
                    if isinstance(cred, dict) and "name" in cred:
                        secret_refs.add(cred["name"])
        for d in docs:
            if d["kind"] in ("Deployment", "Job"):
                for c in d["spec"]["template"]["spec"]["containers"]:
                    for e in c.get("env", []):
                        ref = e.get("valueFrom", {}).get("secretKeyRef")
                        if ref:
                            secret_refs.add(ref["name"])
                # Secrets mounted as files count as read too.
                for v in d["spec"]["template"]["spec"].get("volumes", []):
                    if "secret" in v:
                        secret_refs.add(v["secret"]["secretName"])
    check_scrape_job(podmonitor_jobs)
    missing = secret_refs - example_secrets - EXTERNAL_SECRETS_OPTIONAL - MADE_ELSEWHERE
    if missing:
        fail("examples/secrets.example.yaml", f"no example for the Secrets {sorted(missing)}")
    if len(images) != 1:
        fail("images", f"every overlay must run one image, found {sorted(images)}")
    else:
        image = next(iter(images))
        if ":" not in image.rsplit("/", 1)[-1]:
            fail("images", f"{image} is not pinned by tag")
    if failures:
        print("\n".join(f"FAIL {f}" for f in failures))
        sys.exit(1)
    print(f"ok   probes, shutdown timing, security context, overlay shapes, database wiring, audit keys, webhooks, scrape targets; image {next(iter(images))}")


if __name__ == "__main__":
    main()
