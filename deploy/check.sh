#!/usr/bin/env bash
# Offline checks of the container build and the Kubernetes manifests under
# deploy/ (issue 8). Needs python3 (with venv), kubectl (for kustomize) and
# PyPI the first time; no cluster and no container engine.
#
#   deploy/check.sh          (from any directory)
#
# 1. yamllint --strict on deploy/ (config: deploy/.yamllint);
# 2. kubectl kustomize renders every overlay under deploy/k8s/overlays/;
# 3. kubernetes-validate --strict, for Kubernetes 1.30 (the oldest we support:
#    the preStop sleep action needs it) and the newest the tool knows, on each
#    rendering and on deploy/k8s/examples/;
# 4. checkov (offline, --skip-download) on the same files and on the
#    Dockerfile: no failed check; every skip carries its reason next to the
#    resource (checkov.io/skipN annotations, "# checkov:skip=" comments);
# 5. invariants no generic checker knows (check_invariants.py): probes and
#    their meaning, grace period > preStop + drain, one image everywhere,
#    restricted security context, prod's PDB/HPA/spread, dev's single writer.
#
# The checkers live in a venv cached under
# ${XDG_CACHE_HOME:-$HOME/.cache}/innolab-deploy-check, pinned below; a change
# of pins rebuilds it. The first run spends about 2-3 minutes installing.
set -euo pipefail

deploy_dir="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
cd "$deploy_dir"

oldest_k8s=1.30.0
pins=(kubernetes-validate==1.37.0 checkov==3.3.30 yamllint==1.38.0)

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
newest_k8s="$("$bin/python" -c 'import kubernetes_validate.utils as u; print(u.latest_version())')"
for version in "$oldest_k8s" "$newest_k8s"; do
  step "kubernetes-validate --strict, Kubernetes $version"
  "$bin/kubernetes-validate" --strict --quiet --kubernetes-version "$version" "${manifests[@]}"
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

step "ok"
