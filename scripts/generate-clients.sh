#!/usr/bin/env bash
# Generates the contract's clients in other languages with proto/buf.gen.yaml
# into a temporary directory, then proves them where a toolchain is at hand:
# Python is imported (with googleapis-common-protos and grpcio), Java is
# compiled against protobuf-java, TypeScript is type-checked, Go is built,
# C# is generated (no .NET SDK here). Installs what it needs: Debian's protoc
# 3.21, its gRPC Python plugin, protobuf-java, Go with protoc-gen-go,
# protoc-gen-go-grpc, protobuf-go, grpc-go and genproto; npm's
# protoc-gen-es, @bufbuild/protobuf and TypeScript; PyPI's protobuf, grpcio
# and googleapis-common-protos. Run from anywhere; CI runs it.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)

need_debs=()
command -v protoc >/dev/null || need_debs+=(protobuf-compiler)
command -v grpc_python_plugin >/dev/null || need_debs+=(protobuf-compiler-grpc)
[[ -f /usr/share/java/protobuf.jar ]] || need_debs+=(libprotobuf-java)
command -v protoc-gen-go >/dev/null || need_debs+=(protoc-gen-go)
command -v protoc-gen-go-grpc >/dev/null || need_debs+=(protoc-gen-go-grpc)
command -v go >/dev/null || need_debs+=(golang-go)
[[ -d /usr/share/gocode/src/google.golang.org/genproto ]] \
  || need_debs+=(golang-google-protobuf-dev golang-google-grpc-dev golang-google-genproto-dev)
command -v javac >/dev/null || need_debs+=(default-jdk-headless)
if ((${#need_debs[@]})); then
  # shellcheck source=scripts/lib/apt.sh
  source scripts/lib/apt.sh
  apt_get install -y -q "${need_debs[@]}"
fi

out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
tools="$out/tools"
mkdir -p "$tools"
(cd "$tools" && npm init -y >/dev/null && npm install --silent --no-audit --no-fund \
  @bufbuild/buf@1.75.0 @bufbuild/protoc-gen-es@2.2.3 @bufbuild/protobuf@2.2.3 typescript@5.6.3 >/dev/null)
export PATH="$tools/node_modules/.bin:$PATH"

gen="$out/gen"
buf generate proto --template proto/buf.gen.yaml --path proto/innolab -o "$gen"
# TypeScript has no package of googleapis to depend on, and Java's
# (proto-google-common-protos) is on Maven Central, which is not reachable
# here: for these two the googleapis files are generated too, apart, to
# check against (the other languages import theirs from their packages).
buf generate proto/googleapis -o "$out/googleapis" \
  --template '{"version":"v2","plugins":[{"local":"protoc-gen-es","out":"ts","opt":"target=ts"},{"protoc_builtin":"java","out":"java"}]}'

echo "generated: $(find "$gen" -type f | wc -l) files"
for lang in python java csharp go ts; do
  printf '  %-7s %s files\n' "$lang" "$(find "$gen/$lang" -type f | wc -l)"
done

# Python: every generated module imports, with googleapis from its package.
python3 -m venv "$out/venv"
"$out/venv/bin/pip" install -q "protobuf>=4.21,<7" grpcio googleapis-common-protos
if [[ -e "$gen/python/google" ]]; then
  echo "python: a generated google/ package would collide with googleapis-common-protos" >&2
  exit 1
fi
(cd "$gen/python" && "$out/venv/bin/python" - <<'PY'
import importlib, pathlib
mods = sorted(str(p.with_suffix("")).replace("/", ".") for p in pathlib.Path(".").rglob("*.py"))
for m in mods:
    importlib.import_module(m)
from innolab.membership.v1 import membership_pb2, membership_pb2_grpc
from innolab.common.v1 import common_pb2
org = membership_pb2.Organization(display_names=[common_pb2.LocalizedText(language_code="ro", text="SGG")])
assert membership_pb2.Organization.FromString(org.SerializeToString()) == org
assert hasattr(membership_pb2_grpc, "MembershipServiceStub")
print(f"python: {len(mods)} modules import; a MembershipServiceStub and a round trip of Organization")
PY
)

# Java: compiles against protobuf-java of the same release as protoc.
mkdir -p "$out/classes"
find "$gen/java" "$out/googleapis/java" -name '*.java' > "$out/java-sources"
javac -nowarn -d "$out/classes" -cp /usr/share/java/protobuf.jar @"$out/java-sources"
test -f "$out/classes/org/innolab/membership/v1/Organization.class"
echo "java: $(find "$gen/java" -name '*.java' | wc -l) sources compiled"

# TypeScript: type-checks (strict) with @bufbuild/protobuf.
cat > "$gen/ts/tsconfig.json" <<'JSON'
{ "compilerOptions": { "strict": true, "noEmit": true, "module": "nodenext",
  "moduleResolution": "nodenext", "target": "es2022", "skipLibCheck": true,
  "typeRoots": [], "baseUrl": "." }, "include": ["**/*.ts"] }
JSON
cp -r "$out/googleapis/ts/google" "$gen/ts/google"
ln -s "$tools/node_modules" "$gen/ts/node_modules"
tsc -p "$gen/ts/tsconfig.json"
echo "ts: $(find "$gen/ts" -name '*.ts' | wc -l) files type-check"

# Go: builds in GOPATH mode against Debian's protobuf-go, grpc-go and
# genproto (no Go module proxy is reachable here).
gopath="$out/gopath"
mkdir -p "$gopath/src/github.com/innolab/innolab/gen"
cp -r "$gen/go" "$gopath/src/github.com/innolab/innolab/gen/go"
(cd "$gopath/src/github.com/innolab/innolab/gen/go" \
  && GO111MODULE=off GOPATH="$gopath:/usr/share/gocode" GOCACHE="$out/gocache" GOFLAGS= go build ./...)
echo "go: $(find "$gen/go" -name '*.go' | wc -l) files build; csharp: $(find "$gen/csharp" -name '*.cs' | wc -l) files generated"
