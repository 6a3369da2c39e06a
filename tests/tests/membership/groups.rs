//! Groups: every kind, updates and the parent rules.

use super::*;

on_both_backends!(
    group_of_every_kind_and_list_by_kind,
    group_update_and_parent_rules,
    group_parent_cycles_are_refused,
);

async fn group_of_every_kind_and_list_by_kind(backend: Backend) {
    let (server, mut c) = start(&backend).await;
    let kinds = [
        pb::GroupKind::Network,
        pb::GroupKind::TaskForce,
        pb::GroupKind::AssociateGroup,
        pb::GroupKind::AdvisoryBoard,
        pb::GroupKind::WorkingGroup,
        pb::GroupKind::CommunityOfPractice,
    ];
    let mut created = Vec::new();
    for kind in kinds {
        let mut g = group(kind, kind.as_str_name());
        g.description = format!("The {} of the network", kind.as_str_name());
        let made = try_create_group(&mut c, g.clone(), "")
            .await
            .accepted("CreateGroup");
        assert!(made.name.starts_with("groups/"));
        assert_eq!((made.kind, &made.display_name), (g.kind, &g.display_name));
        assert_eq!(made.description, g.description);
        assert!(!made.etag.is_empty() && made.create_time.is_some());
        let read = c
            .get_group(pb::GetGroupRequest {
                name: made.name.clone(),
            })
            .await
            .accepted("GetGroup");
        assert_eq!(read, made);
        created.push(made);
    }
    for (kind, g) in kinds.iter().zip(&created) {
        let short = kind.as_str_name().trim_start_matches("GROUP_KIND_");
        assert_eq!(
            group_names(&mut c, &format!("kind = {short}")).await,
            vec![g.name.clone()],
            "kind = {short}"
        );
    }
    assert_eq!(group_names(&mut c, "").await.len(), 6);
    assert_eq!(
        group_names(&mut c, "(kind = NETWORK OR kind = TASK_FORCE)")
            .await
            .len(),
        2
    );
    assert_eq!(
        group_names(&mut c, "practice").await,
        vec![created[5].name.clone()],
        "free text over names"
    );

    for (case, g, field) in [
        (
            "no kind",
            group(pb::GroupKind::Unspecified, "X"),
            "group.kind",
        ),
        (
            "unknown kind",
            pb::Group {
                kind: 42,
                ..group(pb::GroupKind::Network, "X")
            },
            "group.kind",
        ),
        (
            "no name",
            group(pb::GroupKind::Network, ""),
            "group.display_name",
        ),
    ] {
        let status = try_create_group(&mut c, g, "")
            .await
            .refused(&format!("CreateGroup with {case}"));
        assert_invalid(&status, field);
    }
    assert_eq!(
        group_names(&mut c, "").await.len(),
        6,
        "nothing more stored"
    );
    server.stop().await;
}

async fn group_update_and_parent_rules(backend: Backend) {
    let (server, mut c) = start(&backend).await;
    let network = create_group(&mut c, pb::GroupKind::Network, "Network").await;

    let status = try_create_group(
        &mut c,
        pb::Group {
            parent: "groups/does-not-exist".into(),
            ..group(pb::GroupKind::WorkingGroup, "AI in government")
        },
        "",
    )
    .await
    .refused("CreateGroup with a parent that does not exist");
    assert_invalid(&status, "group.parent");
    let status = try_create_group(
        &mut c,
        pb::Group {
            parent: "organizations/x".into(),
            ..group(pb::GroupKind::WorkingGroup, "AI in government")
        },
        "",
    )
    .await
    .refused("CreateGroup with a malformed parent");
    assert_invalid(&status, "group.parent");

    let wg = try_create_group(
        &mut c,
        pb::Group {
            parent: network.name.clone(),
            ..group(pb::GroupKind::WorkingGroup, "AI in government")
        },
        "",
    )
    .await
    .accepted("CreateGroup with a parent");
    assert_eq!(wg.parent, network.name);
    assert_eq!(
        group_names(&mut c, &format!(r#"parent = "{}""#, network.name)).await,
        vec![wg.name.clone()]
    );

    let renamed = c
        .update_group(pb::UpdateGroupRequest {
            group: Some(pb::Group {
                display_name: "AI and automation in government".into(),
                kind: pb::GroupKind::CommunityOfPractice as i32, // not in the mask
                ..wg.clone()
            }),
            update_mask: mask(&["display_name"]),
        })
        .await
        .accepted("UpdateGroup display_name");
    assert_eq!(renamed.display_name, "AI and automation in government");
    assert_eq!(renamed.kind, pb::GroupKind::WorkingGroup as i32);
    assert_eq!(renamed.parent, network.name);
    assert_ne!(renamed.etag, wg.etag);

    let status = c
        .update_group(pb::UpdateGroupRequest {
            group: Some(renamed.clone()),
            update_mask: None,
        })
        .await
        .refused("UpdateGroup without mask");
    assert_invalid(&status, "update_mask");
    let status = c
        .update_group(pb::UpdateGroupRequest {
            group: Some(wg.clone()),
            update_mask: mask(&["description"]),
        })
        .await
        .refused("UpdateGroup with a stale etag");
    assert_code(&status, Code::Aborted);
    let status = c
        .update_group(pb::UpdateGroupRequest {
            group: Some(pb::Group {
                parent: "groups/does-not-exist".into(),
                etag: String::new(),
                ..renamed.clone()
            }),
            update_mask: mask(&["parent"]),
        })
        .await
        .refused("UpdateGroup to a parent that does not exist");
    assert_invalid(&status, "group.parent");
    let status = c
        .update_group(pb::UpdateGroupRequest {
            group: Some(pb::Group {
                parent: wg.name.clone(),
                etag: String::new(),
                ..renamed.clone()
            }),
            update_mask: mask(&["parent"]),
        })
        .await
        .refused("UpdateGroup to be its own parent");
    assert_invalid(&status, "group.parent");
    let read = c
        .get_group(pb::GetGroupRequest {
            name: wg.name.clone(),
        })
        .await
        .accepted("GetGroup");
    assert_eq!(read, renamed, "refused updates change nothing");
    server.stop().await;
}

/// Like organisations, groups cannot contain themselves through a chain.
async fn group_parent_cycles_are_refused(backend: Backend) {
    let (server, mut c) = start(&backend).await;
    let a = create_group(&mut c, pb::GroupKind::Network, "A").await;
    let b = create_group(&mut c, pb::GroupKind::WorkingGroup, "B").await;
    let set_parent = |g: &pb::Group, parent: &pb::Group| pb::UpdateGroupRequest {
        group: Some(pb::Group {
            parent: parent.name.clone(),
            etag: String::new(),
            ..g.clone()
        }),
        update_mask: mask(&["parent"]),
    };
    c.update_group(set_parent(&b, &a))
        .await
        .accepted("B belongs to A");
    let status = c
        .update_group(set_parent(&a, &b))
        .await
        .refused("A belongs to B (A -> B -> A)");
    assert_invalid(&status, "group.parent");
    let read = c
        .get_group(pb::GetGroupRequest {
            name: a.name.clone(),
        })
        .await
        .accepted("GetGroup");
    assert_eq!(read, a, "A is unchanged");
    server.stop().await;
}
