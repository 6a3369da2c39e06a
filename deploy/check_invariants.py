"""Invariants of the rendered innolab manifests that generic checkers miss.

Run by deploy/check.sh with the rendered overlays' directory as argument:
every pod template must keep the probes' meaning, the shutdown timing and the
restricted security context; the overlays must keep their shape (dev: one
writer on SQLite; prod: PDB, HPA and spread for every Deployment); every
overlay must run the same image.
"""

import pathlib
import sys

import yaml

# Secrets that prod reads but that are never rendered (the operator makes
# them); each must have its example in deploy/k8s/examples/.
EXTERNAL_SECRETS_OPTIONAL = {"innolab-dev"}

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


def check_pod(where, spec, configmaps, long_running):
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
        sleep = c.get("lifecycle", {}).get("preStop", {}).get("sleep", {}).get("seconds")
        drain = env_value(c, configmaps, "INNOLAB_SHUTDOWN_DRAIN_SECONDS")
        grace = spec.get("terminationGracePeriodSeconds", 30)
        if sleep is None or drain is None:
            fail(cw, "needs a preStop sleep and INNOLAB_SHUTDOWN_DRAIN_SECONDS")
        elif grace <= sleep + int(drain):
            fail(cw, f"terminationGracePeriodSeconds {grace} must exceed preStop {sleep} + drain {drain}")


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
            check_pod(where, spec, configmaps, long_running=kind == "Deployment")
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
    return docs


def main():
    root = pathlib.Path(sys.argv[1])
    images = {}
    secret_refs = set()
    example_secrets = set()
    for path in sorted(root.glob("*.yaml")):
        docs = check_file(path, images)
        for d in docs:
            if d["kind"] == "Secret":
                example_secrets.add(d["metadata"]["name"])
        for d in docs:
            if d["kind"] in ("Deployment", "Job"):
                for c in d["spec"]["template"]["spec"]["containers"]:
                    for e in c.get("env", []):
                        ref = e.get("valueFrom", {}).get("secretKeyRef")
                        if ref:
                            secret_refs.add(ref["name"])
    missing = secret_refs - example_secrets - EXTERNAL_SECRETS_OPTIONAL
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
    print(f"ok   probes, shutdown timing, security context, overlay shapes; image {next(iter(images))}")


if __name__ == "__main__":
    main()
