//! The layer rules of ARCHITECTURE.md, checked on the sources (as
//! `deploy/check_invariants.py` checks the manifests): a service's `domain/`
//! knows neither SQL nor protobuf nor gRPC; only a store (a service's
//! `store/`, the gateway's audit store) and the kit speak SQL; only the API
//! layers, the kit and the gateway know the generated types.

#![allow(clippy::expect_used, clippy::unwrap_used, clippy::panic)]

use std::path::{Path, PathBuf};

fn workspace() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// Every `.rs` file under `dir`.
fn sources(dir: &Path) -> Vec<PathBuf> {
    let mut found = Vec::new();
    let mut pending = vec![dir.to_path_buf()];
    while let Some(dir) = pending.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                pending.push(path);
            } else if path.extension().is_some_and(|e| e == "rs") {
                found.push(path);
            }
        }
    }
    found.sort();
    found
}

/// The lines of `file` that use one of `crates` as a path (`sqlx::`,
/// `use tonic`), comments left out.
fn uses(file: &Path, crates: &[&str]) -> Vec<String> {
    let text = std::fs::read_to_string(file).unwrap();
    text.lines()
        .enumerate()
        .filter(|(_, line)| {
            let code = line.split("//").next().unwrap_or_default();
            crates.iter().any(|c| {
                code.contains(&format!("{c}::"))
                    || code.contains(&format!("use {c}"))
                    || code.contains(&format!("{c} as "))
            })
        })
        .map(|(n, line)| format!("{}:{}: {}", file.display(), n + 1, line.trim()))
        .collect()
}

const SERVICES: [&str; 4] = ["membership", "initiatives", "guidance", "impact"];

#[test]
fn the_domain_is_pure() {
    let mut broken = Vec::new();
    for service in SERVICES {
        let domain = workspace()
            .join("services")
            .join(service)
            .join("src/domain");
        assert!(domain.is_dir(), "{} is missing", domain.display());
        for file in sources(&domain) {
            broken.extend(uses(
                &file,
                &[
                    "sqlx",
                    "tonic",
                    "innolab_proto",
                    "prost",
                    "prost_types",
                    "hyper",
                ],
            ));
        }
    }
    assert!(
        broken.is_empty(),
        "the domain must not know SQL, gRPC or the generated types:\n{}",
        broken.join("\n")
    );
}

#[test]
fn only_stores_and_the_kit_speak_sql() {
    let root = workspace();
    let mut broken = Vec::new();
    let mut dirs: Vec<PathBuf> = SERVICES
        .iter()
        .map(|s| root.join("services").join(s).join("src"))
        .collect();
    dirs.push(root.join("gateway/src"));
    for dir in dirs {
        for file in sources(&dir) {
            let relative = file
                .strip_prefix(&root)
                .unwrap()
                .to_string_lossy()
                .to_string();
            let a_store = relative.contains("/src/store/")
                || relative == "gateway/src/audit/store.rs"
                || relative == "gateway/src/hooks/store.rs";
            if !a_store {
                broken.extend(uses(&file, &["sqlx"]));
            }
        }
    }
    assert!(
        broken.is_empty(),
        "SQL belongs in a store (services/*/src/store/, gateway/src/audit/store.rs, gateway/src/hooks/store.rs) or the kit:\n{}",
        broken.join("\n")
    );
}

#[test]
fn stores_know_no_protobuf() {
    let mut broken = Vec::new();
    for service in SERVICES {
        let store = workspace().join("services").join(service).join("src/store");
        for file in sources(&store) {
            broken.extend(uses(&file, &["tonic", "innolab_proto"]));
        }
    }
    assert!(
        broken.is_empty(),
        "a store knows the domain, not the contract:\n{}",
        broken.join("\n")
    );
}

/// Where a service may name protobuf or gRPC types: its API layer (`api/`),
/// the crate root that mounts the routes, and initiatives'
/// `directory.rs` (a gRPC client of the membership service). Orchestration
/// beside the store (an import pipeline, an upload) works on domain types.
fn may_know_the_contract(relative: &str) -> bool {
    relative.contains("/src/api/")
        || relative.ends_with("/src/lib.rs")
        || relative == "services/initiatives/src/directory.rs"
}

#[test]
fn only_the_api_layer_knows_the_contract() {
    let root = workspace();
    let mut broken = Vec::new();
    for service in SERVICES {
        for file in sources(&root.join("services").join(service).join("src")) {
            let relative = file
                .strip_prefix(&root)
                .unwrap()
                .to_string_lossy()
                .to_string();
            if !may_know_the_contract(&relative) {
                broken.extend(uses(&file, &["tonic", "innolab_proto", "prost_types"]));
            }
        }
    }
    assert!(
        broken.is_empty(),
        "generated types and gRPC belong in a service's api/ (or lib.rs, which mounts it):\n{}",
        broken.join("\n")
    );
}
