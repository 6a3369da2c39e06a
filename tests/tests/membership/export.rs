//! The network as open data: CSV per collection with CSVW and DCAT-AP
//! records, Popolo JSON and W3C ORG JSON-LD, nothing personal, the same
//! bytes for the same data. (CI also checks a release with pyshacl and
//! csvwvalidate: scripts/check-open-data.sh.)

use super::*;

on_both_backends!(the_network_is_exported_without_personal_data);

async fn the_network_is_exported_without_personal_data(backend: Backend) {
    let (server, mut c) = start(&backend).await;
    let sgg = create_org(&mut c, org("RO", "Secretariatul General al Guvernului")).await;
    let vm = create_org(&mut c, org("FI", "Valtiovarainministeriö")).await;
    let network = create_group(&mut c, pb::GroupKind::Network, "Network").await;
    let member = apply(&mut c, &network.name, &vm.name, pb::Role::Member).await;
    let post = create_post(&mut c, &network.name, pb::Role::NationalContactPoint, "RO").await;
    let ana = create_person(&mut c, &sgg.name, "Ana Popescu").await;
    assign(&mut c, &post.name, &ana.name, None)
        .await
        .accepted("AssignPostHolder");

    let dir = tempfile::tempdir().unwrap();
    let settings = Settings::new(server.db.settings.clone());
    let release = innolab_tests::fixtures::release();
    let counts = innolab_membership::export(&settings, dir.path(), &release)
        .await
        .unwrap();
    assert_eq!(
        (
            counts.organizations,
            counts.groups,
            counts.memberships,
            counts.posts
        ),
        (2, 1, 1, 1)
    );
    let read = |name: &str| std::fs::read_to_string(dir.path().join(name)).unwrap();
    let memberships = read("memberships.csv");
    assert!(memberships.starts_with("name,group,member,role,state,"));
    assert!(memberships.contains(&format!(
        "{},{},{},MEMBER,APPLIED",
        member.name, network.name, vm.name
    )));
    assert!(read("posts.csv").contains(",true,"), "a held post says so");
    for name in std::fs::read_dir(dir.path()).unwrap() {
        let name = name.unwrap().file_name().into_string().unwrap();
        let text = read(&name);
        for personal in ["people/", "Ana Popescu", "ana.popescu"] {
            assert!(!text.contains(personal), "{name} holds {personal:?}");
        }
    }
    let popolo: serde_json::Value = serde_json::from_str(&read("popolo.json")).unwrap();
    assert_eq!(popolo["memberships"][0]["member"]["id"], vm.name.as_str());
    assert_eq!(
        popolo["organizations"].as_array().unwrap().len(),
        3,
        "2 organisations and the group"
    );
    let org: serde_json::Value = serde_json::from_str(&read("organizations.org.jsonld")).unwrap();
    let types: Vec<&serde_json::Value> = org["@graph"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| &n["@type"])
        .collect();
    assert!(types.contains(&&serde_json::json!([
        "org:Organization",
        "cpov:PublicOrganisation"
    ])));
    assert!(types.contains(&&serde_json::json!("org:Membership")));
    let catalogue: serde_json::Value = serde_json::from_str(&read("catalogue.jsonld")).unwrap();
    assert_eq!(catalogue["dcat:dataset"].as_array().unwrap().len(), 4);
    let first = (read("catalogue.jsonld"), read("organizations.org.jsonld"));
    innolab_membership::export(&settings, dir.path(), &release)
        .await
        .unwrap();
    assert_eq!(
        (read("catalogue.jsonld"), read("organizations.org.jsonld")),
        first,
        "the same data gives the same bytes"
    );
    server.stop().await;
}
