#!/usr/bin/env bash
# Offline checks of the container build, the Kubernetes manifests and the
# Prometheus rules under deploy/ (issue 8). Needs python3 (with venv),
# kubectl (for kustomize), promtool (Debian's package "prometheus", installed
# here when missing and run as root) and PyPI the first time; no cluster and
# no container engine.
#
#   deploy/check.sh          (from any directory)
#
# 1. yamllint --strict on deploy/ (config: deploy/.yamllint);
# 2. kubectl kustomize renders every overlay under deploy/k8s/overlays/;
# 3. the custom resources (CloudNativePG Cluster and ScheduledBackup,
#    PodMonitor) against the openAPIV3Schema of their CRDs, vendored and
#    pinned in deploy/k8s/crds/ (validate_custom_resources.py, strict: no
#    unknown field); then kubernetes-validate --strict, for Kubernetes 1.30
#    (the oldest we support: the preStop sleep action needs it) and the
#    newest the tool knows, on every other object of each rendering and of
#    deploy/k8s/examples/; a kind neither knows fails;
# 4. checkov (offline, --skip-download) on the same files and on the
#    Dockerfile: no failed check; every skip carries its reason next to the
#    resource (checkov.io/skipN annotations, "# checkov:skip=" comments);
# 5. invariants no generic checker knows (check_invariants.py): probes and
#    their meaning, grace period > preStop + drain, one image everywhere,
#    restricted security context, prod's PDB/HPA/spread, dev's single writer,
#    the wiring to CloudNativePG, the production gateway's audit keys (files
#    of a Secret no other user reads) and checkpoint volume, its webhook
#    subscriptions' database (set, so that webhooks are on), the
#    PodMonitor's targets, one scrape job;
# 6. promtool check rules and promtool test rules on deploy/prometheus/
#    (alerts.yaml and its unit tests, alerts.test.yaml).
#
# The checkers live in a venv cached under
# ${XDG_CACHE_HOME:-$HOME/.cache}/innolab-deploy-check, pinned below; a change
# of pins rebuilds it. The first run spends about 2-3 minutes installing.
set -euo pipefail

deploy_dir="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
cd "$deploy_dir"

oldest_k8s=1.30.0
pins=(kubernetes-validate==1.37.0 checkov==3.3.30 yamllint==1.38.0 jsonschema==4.26.0)

step() { printf '\n==> %s\n' "$*"; }

# --- checkers -------------------------------------------------------------
cache="${XDG_CACHE_HOME:-$HOME/.cache}/innolab-deploy-check"
venv="$cache/venv"
mkdir -p "$cache"
install_checkers() {
  if [[ -x "$venv/bin/checkov" && "$(cat "$venv/.pins" 2>/dev/null)" == "${pins[*]}" ]]; then
    return
  fi
  step "installing ${pins[*]} into $venv"
  rm -rf "$venv"
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet --disable-pip-version-check "${pins[@]}"
  # Written last: an interrupted install is redone on the next run.
  echo "${pins[*]}" > "$venv/.pins"
}
if command -v flock >/dev/null; then
  # Two runs at once (e.g. a developer and CI) must not build the venv twice.
  exec 9>"$cache/.lock"
  flock 9
  install_checkers
  flock -u 9
else
  install_checkers
fi
bin="$venv/bin"

render() {
  if command -v kubectl >/dev/null; then
    kubectl kustomize "$1"
  elif command -v kustomize >/dev/null; then
    kustomize build "$1"
  else
    echo "deploy/check.sh: needs kubectl (or kustomize) on PATH" >&2
    return 1
  fi
}

work="$(mktemp -d "${TMPDIR:-/tmp}/innolab-deploy-check.XXXXXX")"
trap 'rm -rf "$work"' EXIT

# --- 1. yamllint ----------------------------------------------------------
step "yamllint"
"$bin/yamllint" --strict -c .yamllint .

# --- 2. render ------------------------------------------------------------
step "kustomize: render every overlay"
mkdir -p "$work/rendered"
for overlay in k8s/overlays/*/; do
  name="$(basename "$overlay")"
  render "$overlay" > "$work/rendered/$name.yaml"
  echo "ok   $overlay ($(grep -c '^kind:' "$work/rendered/$name.yaml") resources)"
done
cp k8s/examples/*.yaml "$work/rendered/"
manifests=("$work"/rendered/*.yaml)

# --- 3. schemas -----------------------------------------------------------
step "custom resources against the vendored CRDs (k8s/crds/)"
"$bin/python" validate_custom_resources.py k8s/crds "$work/builtin" "${manifests[@]}"
newest_k8s="$("$bin/python" -c 'import kubernetes_validate.utils as u; print(u.latest_version())')"
for version in "$oldest_k8s" "$newest_k8s"; do
  step "kubernetes-validate --strict, Kubernetes $version"
  # It only warns about a kind it has no schema for: here that is a failure
  # (the custom resources it cannot know were taken out above).
  if ! out="$("$bin/kubernetes-validate" --strict --quiet --kubernetes-version "$version" "$work"/builtin/*.yaml)" \
    || grep -q . <<<"$out"; then
    printf '%s\n' "$out"
    echo "FAIL kubernetes-validate (a warning counts: an unknown kind is not validated)" >&2
    exit 1
  fi
  echo "ok   ${#manifests[@]} files"
done

# --- 4. checkov -----------------------------------------------------------
step "checkov (kubernetes, dockerfile; offline)"
"$bin/checkov" --quiet --compact --skip-download --framework kubernetes \
  --directory "$work/rendered"
"$bin/checkov" --quiet --compact --skip-download --framework dockerfile \
  --file Dockerfile
echo "ok   no failed check"

# --- 5. invariants --------------------------------------------------------
step "invariants"
"$bin/python" check_invariants.py "$work/rendered"

# --- 6. Prometheus rules --------------------------------------------------
step "promtool: check and unit-test the alert rules"
if ! command -v promtool >/dev/null; then
  # CI runs as root on a clean Debian machine: promtool is in Debian's
  # "prometheus" package. Only the tool is wanted: the server the package
  # may start (where policy-rc.d does not forbid it) is stopped again.
  if [[ "$(id -u)" == 0 ]] && command -v apt-get >/dev/null; then
    echo "promtool missing: apt-get install prometheus"
    # shellcheck source=../scripts/lib/apt.sh
    source "$deploy_dir/../scripts/lib/apt.sh"
    apt_get update -qq
    apt_get install -y -qq --no-install-recommends prometheus
    if command -v systemctl >/dev/null && systemctl is-active --quiet prometheus 2>/dev/null; then
      systemctl disable --now prometheus >/dev/null 2>&1 || true
    fi
  else
    echo "deploy/check.sh: needs promtool on PATH (Debian: apt-get install prometheus)" >&2
    exit 1
  fi
fi
promtool check rules prometheus/alerts.yaml
(cd prometheus && promtool test rules alerts.test.yaml)

step "ok"
