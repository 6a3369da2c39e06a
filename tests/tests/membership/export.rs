//! The network as open data: CSV per collection with CSVW and DCAT-AP
//! records, Popolo JSON and W3C ORG JSON-LD, nothing personal, the same
//! bytes for the same data. (CI also checks a release with pyshacl and
//! csvwvalidate: scripts/check-open-data.sh.)

use super::*;

on_both_backends!(
    the_network_is_exported_without_personal_data,
    the_network_streams_without_personal_data,
);

/// Two organisations in a network, one a member, and a post Ana holds.
struct Network {
    sgg: pb::Organization,
    vm: pb::Organization,
    network: pb::Group,
    member: pb::Membership,
    post: pb::Post,
    ana: pb::Person,
}

async fn network(c: &mut Client) -> Network {
    let sgg = create_org(c, org("RO", "Secretariatul General al Guvernului")).await;
    let vm = create_org(c, org("FI", "Valtiovarainministeriö")).await;
    let network = create_group(c, pb::GroupKind::Network, "Network").await;
    let member = apply(c, &network.name, &vm.name, pb::Role::Member).await;
    let post = create_post(c, &network.name, pb::Role::NationalContactPoint, "RO").await;
    let ana = create_person(c, &sgg.name, "Ana Popescu").await;
    assign(c, &post.name, &ana.name, None)
        .await
        .accepted("AssignPostHolder");
    Network {
        sgg,
        vm,
        network,
        member,
        post,
        ana,
    }
}

async fn the_network_is_exported_without_personal_data(backend: Backend) {
    let (server, mut c) = start(&backend).await;
    let Network {
        vm,
        network,
        member,
        ..
    } = network(&mut c).await;

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

/// Every collection of the network as a stream (one snapshot each), with
/// nobody in it: no holder, no person in a holding or a decision.
async fn the_network_streams_without_personal_data(backend: Backend) {
    use innolab_tests::collect as all;
    let (server, mut c) = start(&backend).await;
    let Network {
        sgg,
        vm,
        network,
        member,
        post,
        ana,
    } = network(&mut c).await;

    let organizations: Vec<String> = all(c
        .export_organizations(pb::ExportOrganizationsRequest {})
        .await)
    .await
    .into_iter()
    .map(|o| o.organization.unwrap().name)
    .collect();
    assert_eq!(organizations, vec![sgg.name.clone(), vm.name.clone()]);
    let groups = all(c.export_groups(pb::ExportGroupsRequest {}).await).await;
    assert_eq!(groups.len(), 1);
    assert_eq!(groups[0].group.as_ref().unwrap().name, network.name);
    let memberships = all(c.export_memberships(pb::ExportMembershipsRequest {}).await).await;
    assert_eq!(memberships.len(), 1);
    let exported = memberships[0].membership.as_ref().unwrap();
    assert_eq!((&exported.name, &exported.member), (&member.name, &vm.name));
    let posts = all(c.export_posts(pb::ExportPostsRequest {}).await).await;
    assert_eq!(posts.len(), 1);
    let exported = posts[0].post.as_ref().unwrap();
    assert_eq!(exported.name, post.name);
    assert!(exported.holder.is_empty(), "{exported:?}");
    assert_eq!(
        exported.holdings.len(),
        1,
        "the holding stays, its dates too"
    );
    assert!(exported.holdings[0].start_date.is_some());
    let everything = format!("{organizations:?}{groups:?}{memberships:?}{posts:?}");
    for personal in [ana.name.as_str(), "people/", "Ana Popescu"] {
        assert!(
            !everything.contains(personal),
            "{personal:?} in {everything}"
        );
    }
    server.stop().await;
}
