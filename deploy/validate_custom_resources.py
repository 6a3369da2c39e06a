"""Validates the custom resources of the renderings against vendored CRDs.

Run by deploy/check.sh:

    python validate_custom_resources.py CRD_DIR OUT_DIR FILE...

kubernetes-validate knows only the built-in kinds (it merely warns about any
other), so each custom resource in FILE... (a CloudNativePG Cluster, a
PodMonitor, ...) is validated here against the openAPIV3Schema of its CRD in
CRD_DIR (deploy/k8s/crds/, vendored and pinned: see the README there), made
as strict as kubernetes-validate --strict: an unknown field is an error
(what the API server would silently prune), except where the schema says
x-kubernetes-preserve-unknown-fields. The CEL rules of the CRDs
(x-kubernetes-validations) are not evaluated.

Every other document is written to OUT_DIR/<file name>, for
kubernetes-validate. Exit 1 on any error.
"""

import collections
import pathlib
import sys

import jsonschema
import yaml

# The object metadata a manifest may carry (CRD schemas only say "object").
METADATA = {
    "type": "object",
    "required": ["name"],
    "properties": {
        "name": {"type": "string", "minLength": 1, "maxLength": 253},
        "namespace": {"type": "string"},
        "labels": {"type": "object", "additionalProperties": {"type": "string"}},
        "annotations": {"type": "object", "additionalProperties": {"type": "string"}},
        "finalizers": {"type": "array", "items": {"type": "string"}},
        "ownerReferences": {"type": "array"},
    },
    "additionalProperties": False,
}

# The keywords of a structural schema that hold sub-schemas.
SUB_SCHEMA_MAPS = ("properties", "patternProperties")
SUB_SCHEMA_LISTS = ("allOf", "anyOf", "oneOf")
SUB_SCHEMA_ONE = ("items", "additionalProperties", "not")


def strict(schema):
    """The schema with unknown fields refused wherever it lists its fields."""
    if not isinstance(schema, dict):
        return schema
    out = dict(schema)
    for key in SUB_SCHEMA_MAPS:
        if key in out:
            out[key] = {name: strict(sub) for name, sub in out[key].items()}
    for key in SUB_SCHEMA_LISTS:
        if key in out:
            out[key] = [strict(sub) for sub in out[key]]
    for key in SUB_SCHEMA_ONE:
        if isinstance(out.get(key), dict):
            out[key] = strict(out[key])
    if out.get("nullable") and isinstance(out.get("type"), str):
        out["type"] = [out["type"], "null"]
    if out.get("x-kubernetes-embedded-resource"):
        props = out.setdefault("properties", {})
        props.setdefault("apiVersion", {"type": "string"})
        props.setdefault("kind", {"type": "string"})
        props.setdefault("metadata", {"type": "object"})
    if (
        "properties" in out
        and "additionalProperties" not in out
        and not out.get("x-kubernetes-preserve-unknown-fields")
    ):
        out["additionalProperties"] = False
    return out


def load_crds(crd_dir):
    """{(apiVersion, kind): (validator, deprecation or None)} of every served version."""
    schemas = {}
    for path in sorted(pathlib.Path(crd_dir).glob("*.yaml")):
        for crd in yaml.safe_load_all(path.read_text()):
            if not crd or crd.get("kind") != "CustomResourceDefinition":
                continue
            group = crd["spec"]["group"]
            kind = crd["spec"]["names"]["kind"]
            for version in crd["spec"]["versions"]:
                if not version.get("served"):
                    continue
                schema = strict(version["schema"]["openAPIV3Schema"])
                schema.setdefault("properties", {})["metadata"] = METADATA
                schema["required"] = sorted(set(schema.get("required", [])) | {"apiVersion", "kind", "metadata"})
                # OpenAPI 3.0 schemas are JSON Schema draft 4 with extensions
                # (the x-kubernetes-* keywords, ignored here).
                jsonschema.Draft4Validator.check_schema(schema)
                deprecation = None
                if version.get("deprecated"):
                    deprecation = version.get("deprecationWarning") or f"{group}/{version['name']} {kind} is deprecated"
                schemas[(f"{group}/{version['name']}", kind)] = (jsonschema.Draft4Validator(schema), deprecation)
    return schemas


def main():
    crd_dir, out_dir, *files = sys.argv[1:]
    schemas = load_crds(crd_dir)
    groups = {api_version.split("/")[0] for api_version, _ in schemas}
    out = pathlib.Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    failures = []
    checked = collections.Counter()
    for name in files:
        path = pathlib.Path(name)
        builtin = []
        for doc in yaml.safe_load_all(path.read_text()):
            if not doc:
                continue
            key = (doc.get("apiVersion"), doc.get("kind"))
            where = f"{path.name}: {key[1]} {doc.get('metadata', {}).get('name')}"
            if key in schemas:
                validator, deprecation = schemas[key]
                for error in sorted(validator.iter_errors(doc), key=lambda e: list(e.absolute_path)):
                    at = ".".join(str(p) for p in error.absolute_path) or "(top)"
                    failures.append(f"{where}: {at}: {error.message}")
                if deprecation:
                    failures.append(f"{where}: {deprecation}")
                checked[key[1]] += 1
            elif str(key[0]).split("/")[0] in groups:
                # A kind (or version) of a vendored group that was not vendored.
                failures.append(f"{where}: no vendored CRD for {key[0]} {key[1]} in {crd_dir}")
            else:
                builtin.append(doc)
        (out / path.name).write_text(yaml.safe_dump_all(builtin, sort_keys=False))
    if failures:
        print("\n".join(f"FAIL {f}" for f in failures))
        sys.exit(1)
    summary = ", ".join(f"{kind} x{n}" for kind, n in sorted(checked.items())) or "none"
    print(f"ok   custom resources against the vendored CRDs: {summary}")


if __name__ == "__main__":
    main()
