//! Posts: creation, holders handed over, assignment refusals, concurrent
//! assignments and filters.

use super::*;

on_both_backends!(
    post_national_contact_point,
    post_bad_input_and_duplicates,
    post_holder_hand_over,
    post_assignment_refusals,
    concurrent_assignments_keep_one_chain_of_holdings,
    list_posts_filters,
);

async fn post_national_contact_point(backend: Backend) {
    let (server, mut c) = start(&backend).await;
    let network = create_group(&mut c, pb::GroupKind::Network, "Network").await;
    let ncp = create_post(&mut c, &network.name, pb::Role::NationalContactPoint, "ro").await;
    assert!(ncp.name.starts_with("posts/"));
    assert_eq!(ncp.group, network.name);
    assert_eq!(ncp.role, pb::Role::NationalContactPoint as i32);
    assert_eq!(ncp.country_code, "RO", "country code normalised");
    assert_eq!(ncp.holder, "", "a new post is vacant");
    assert!(ncp.holdings.is_empty());
    assert!(!ncp.etag.is_empty() && ncp.create_time.is_some());
    assert_eq!(get_post(&mut c, &ncp.name).await, ncp);

    let chair = create_post(&mut c, &network.name, pb::Role::TaskForceChair, "").await;
    assert_eq!(chair.country_code, "", "other posts need no country");
    let coordinator = create_post(&mut c, &network.name, pb::Role::Coordinator, "").await;
    assert_eq!(coordinator.role, pb::Role::Coordinator as i32);
    server.stop().await;
}

async fn post_bad_input_and_duplicates(backend: Backend) {
    let (server, mut c) = start(&backend).await;
    let network = create_group(&mut c, pb::GroupKind::Network, "Network").await;
    let cases = [
        (
            "national contact point without country",
            post(&network.name, pb::Role::NationalContactPoint, ""),
            "post.country_code",
        ),
        (
            "unknown country",
            post(&network.name, pb::Role::NationalContactPoint, "XX"),
            "post.country_code",
        ),
        (
            "role MEMBER",
            post(&network.name, pb::Role::Member, "RO"),
            "post.role",
        ),
        (
            "role TASK_FORCE_MEMBER",
            post(&network.name, pb::Role::TaskForceMember, ""),
            "post.role",
        ),
        (
            "no role",
            post(&network.name, pb::Role::Unspecified, "RO"),
            "post.role",
        ),
        (
            "unknown group",
            post(
                "groups/does-not-exist",
                pb::Role::NationalContactPoint,
                "RO",
            ),
            "post.group",
        ),
        (
            "no group",
            post("", pb::Role::NationalContactPoint, "RO"),
            "post.group",
        ),
    ];
    for (case, p, field) in cases {
        let status = try_create_post(&mut c, p, "")
            .await
            .refused(&format!("CreatePost with {case}"));
        assert_invalid(&status, field);
    }
    let status = c
        .create_post(pb::CreatePostRequest::default())
        .await
        .refused("CreatePost without post");
    assert_invalid(&status, "post");

    let ro = create_post(&mut c, &network.name, pb::Role::NationalContactPoint, "RO").await;
    let status = try_create_post(
        &mut c,
        post(&network.name, pb::Role::NationalContactPoint, "ro"),
        "",
    )
    .await
    .refused("a second RO national contact point in the network");
    assert_reason(&status, Code::AlreadyExists, "ALREADY_EXISTS");
    let chair = create_post(&mut c, &network.name, pb::Role::TaskForceChair, "").await;
    let status = try_create_post(
        &mut c,
        post(&network.name, pb::Role::TaskForceChair, ""),
        "",
    )
    .await
    .refused("a second task force chair");
    assert_code(&status, Code::AlreadyExists);

    let se = create_post(&mut c, &network.name, pb::Role::NationalContactPoint, "SE").await;
    let other_group = create_group(&mut c, pb::GroupKind::AssociateGroup, "Associates").await;
    let other = create_post(
        &mut c,
        &other_group.name,
        pb::Role::NationalContactPoint,
        "RO",
    )
    .await;
    assert_eq!(
        set(&post_names(&mut c, "").await),
        set(&[&ro.name, &chair.name, &se.name, &other.name])
    );
    server.stop().await;
}

async fn post_holder_hand_over(backend: Backend) {
    let (server, mut c) = start(&backend).await;
    let network = create_group(&mut c, pb::GroupKind::Network, "Network").await;
    let adr = create_org(&mut c, org("RO", "ADR")).await;
    let a = create_person(&mut c, &adr.name, "Ana Popescu").await;
    let b = create_person(&mut c, &adr.name, "Bogdan Ionescu").await;
    let ncp = create_post(&mut c, &network.name, pb::Role::NationalContactPoint, "RO").await;

    let first = assign(&mut c, &ncp.name, &a.name, Some(date(2025, 1, 1)))
        .await
        .accepted("assign A");
    assert_eq!(first.holder, a.name);
    assert_eq!(first.holdings.len(), 1);
    assert_ne!(first.etag, ncp.etag);

    let second = assign(&mut c, &ncp.name, &b.name, Some(date(2026, 3, 1)))
        .await
        .accepted("assign B");
    assert_eq!(second.holder, b.name, "the holder is B");
    let holdings: Vec<_> = second
        .holdings
        .iter()
        .map(|h| (h.person.as_str(), h.start_date, h.end_date))
        .collect();
    assert_eq!(
        holdings,
        vec![
            (
                a.name.as_str(),
                Some(date(2025, 1, 1)),
                Some(date(2026, 3, 1))
            ),
            (b.name.as_str(), Some(date(2026, 3, 1)), None),
        ],
        "A's holding ends the day B's starts; B's is open"
    );
    assert_eq!(second.holdings[1].decided_by, "groups/task-force");
    assert_eq!(second.holdings[1].reason, format!("{} nominated", b.name));
    assert_eq!(get_post(&mut c, &ncp.name).await, second);

    // Without a start date the new holding starts today.
    let third = assign(&mut c, &ncp.name, &a.name, None)
        .await
        .accepted("assign A again, from today");
    assert_eq!(third.holder, a.name);
    let last = third.holdings.last().expect("holding");
    let now = today();
    assert_eq!(last.start_date, Some(now));
    assert_eq!(third.holdings[1].end_date, Some(now));
    server.stop().await;
}

async fn post_assignment_refusals(backend: Backend) {
    let (server, mut c) = start(&backend).await;
    let network = create_group(&mut c, pb::GroupKind::Network, "Network").await;
    let adr = create_org(&mut c, org("RO", "ADR")).await;
    let a = create_person(&mut c, &adr.name, "Ana Popescu").await;
    let b = create_person(&mut c, &adr.name, "Bogdan Ionescu").await;
    let ncp = create_post(&mut c, &network.name, pb::Role::NationalContactPoint, "RO").await;
    assign(&mut c, &ncp.name, &a.name, Some(date(2025, 1, 1)))
        .await
        .accepted("assign A");
    let held = assign(&mut c, &ncp.name, &b.name, Some(date(2026, 3, 1)))
        .await
        .accepted("assign B");

    let status = assign(&mut c, &ncp.name, &b.name, Some(date(2026, 4, 1)))
        .await
        .refused("assigning the current holder again");
    assert_reason(&status, Code::FailedPrecondition, "ALREADY_HOLDER");
    let status = assign(&mut c, &ncp.name, &a.name, Some(date(2026, 2, 28)))
        .await
        .refused("a start before the current holding's start");
    assert_invalid(&status, "start_date");
    let status = assign(
        &mut c,
        &ncp.name,
        "people/does-not-exist",
        Some(date(2026, 4, 1)),
    )
    .await
    .refused("a person who does not exist");
    assert_invalid(&status, "person");
    let status = assign(&mut c, &ncp.name, &adr.name, Some(date(2026, 4, 1)))
        .await
        .refused("an organisation as holder");
    assert_invalid(&status, "person");
    let status = assign(&mut c, &ncp.name, "", None)
        .await
        .refused("no person");
    assert_invalid(&status, "person");
    let status = c
        .assign_post_holder(pb::AssignPostHolderRequest {
            name: ncp.name.clone(),
            person: a.name.clone(),
            ..Default::default()
        })
        .await
        .refused("no decided_by");
    assert_invalid(&status, "decided_by");
    let status = c
        .assign_post_holder(pb::AssignPostHolderRequest {
            name: ncp.name.clone(),
            person: a.name.clone(),
            etag: ncp.etag.clone(),
            decided_by: "people/x".into(),
            start_date: Some(date(2026, 4, 1)),
            ..Default::default()
        })
        .await
        .refused("a stale etag");
    assert_reason(&status, Code::Aborted, "ETAG_MISMATCH");
    let status = c
        .assign_post_holder(pb::AssignPostHolderRequest {
            name: ncp.name.clone(),
            person: b.name.clone(),
            etag: ncp.etag.clone(),
            decided_by: "people/x".into(),
            ..Default::default()
        })
        .await
        .refused("the current holder again, with a stale etag");
    assert_reason(&status, Code::Aborted, "ETAG_MISMATCH");
    let status = assign(&mut c, &ncp.name, &a.name, Some(date(2026, 4, 31)))
        .await
        .refused("31 April");
    assert_invalid(&status, "start_date");
    assert_eq!(
        get_post(&mut c, &ncp.name).await,
        held,
        "refusals change nothing"
    );

    c.assign_post_holder(pb::AssignPostHolderRequest {
        name: ncp.name.clone(),
        person: a.name.clone(),
        etag: held.etag.clone(),
        decided_by: "people/x".into(),
        start_date: Some(date(2026, 3, 1)),
        ..Default::default()
    })
    .await
    .accepted("the current etag, a start on the current start");
    server.stop().await;
}

/// Assignments racing on one post may each succeed (a later one simply
/// follows an earlier one), but the holdings always form one chain: each
/// ends the day the next starts, only the last is open, and it is the holder.
async fn concurrent_assignments_keep_one_chain_of_holdings(backend: Backend) {
    let (server, mut c) = start(&backend).await;
    let network = create_group(&mut c, pb::GroupKind::Network, "Network").await;
    let adr = create_org(&mut c, org("RO", "ADR")).await;
    let ncp = create_post(&mut c, &network.name, pb::Role::NationalContactPoint, "RO").await;
    let mut people = Vec::new();
    for i in 0..4 {
        people.push(
            create_person(&mut c, &adr.name, &format!("Candidate {i}"))
                .await
                .name,
        );
    }
    let mut tasks = tokio::task::JoinSet::new();
    for person in people.clone() {
        let mut c = c.clone();
        let post = ncp.name.clone();
        tasks.spawn(async move {
            assign(&mut c, &post, &person, Some(date(2026, 1, 1)))
                .await
                .map(|_| person)
        });
    }
    let outcomes = tasks.join_all().await;
    let won: Vec<&String> = outcomes.iter().filter_map(|r| r.as_ref().ok()).collect();
    assert!(!won.is_empty(), "someone is assigned: {outcomes:?}");
    for status in outcomes.iter().filter_map(|r| r.as_ref().err()) {
        assert_code(status, Code::Aborted);
    }

    let post = get_post(&mut c, &ncp.name).await;
    assert_eq!(
        post.holdings.len(),
        won.len(),
        "one holding per successful call"
    );
    assert_eq!(
        set(&post.holdings.iter().map(|h| &h.person).collect::<Vec<_>>()),
        set(&won)
    );
    for pair in post.holdings.windows(2) {
        assert_eq!(pair[0].end_date, pair[1].start_date, "holdings chain up");
    }
    let last = post.holdings.last().expect("a holding");
    assert_eq!(last.end_date, None, "only the last holding is open");
    assert_eq!(post.holder, last.person);
    server.stop().await;
}

async fn list_posts_filters(backend: Backend) {
    let (server, mut c) = start(&backend).await;
    let network = create_group(&mut c, pb::GroupKind::Network, "Network").await;
    let task_force = create_group(&mut c, pb::GroupKind::TaskForce, "Task force").await;
    let adr = create_org(&mut c, org("RO", "ADR")).await;
    let a = create_person(&mut c, &adr.name, "Ana Popescu").await;
    let b = create_person(&mut c, &adr.name, "Bogdan Ionescu").await;
    let ro = create_post(&mut c, &network.name, pb::Role::NationalContactPoint, "RO").await;
    let se = create_post(&mut c, &network.name, pb::Role::NationalContactPoint, "SE").await;
    let chair = create_post(&mut c, &task_force.name, pb::Role::TaskForceChair, "").await;
    assign(&mut c, &ro.name, &a.name, Some(date(2025, 1, 1)))
        .await
        .accepted("A holds RO");
    assign(&mut c, &ro.name, &b.name, Some(date(2026, 3, 1)))
        .await
        .accepted("B holds RO");
    assign(&mut c, &chair.name, &a.name, Some(date(2025, 1, 1)))
        .await
        .accepted("A chairs the task force");

    let cases: Vec<(String, Vec<&String>)> = vec![
        (format!(r#"holder = "{}""#, b.name), vec![&ro.name]),
        (
            format!(r#"holder = "{}""#, a.name),
            vec![&chair.name], // A no longer holds RO
        ),
        (r#"country_code = "RO""#.into(), vec![&ro.name]),
        (r#"country_code = "se""#.into(), vec![&se.name]),
        (
            "role = NATIONAL_CONTACT_POINT".into(),
            vec![&ro.name, &se.name],
        ),
        (
            format!(r#"group = "{}""#, task_force.name),
            vec![&chair.name],
        ),
        (
            r#"role = NATIONAL_CONTACT_POINT AND country_code = "RO""#.into(),
            vec![&ro.name],
        ),
    ];
    for (filter, expected) in cases {
        assert_eq!(
            set(&post_names(&mut c, &filter).await),
            set(&expected),
            "filter {filter:?}"
        );
    }
    let status = c
        .list_posts(pb::ListPostsRequest {
            filter: "popescu".into(),
            ..Default::default()
        })
        .await
        .refused("ListPosts with free text");
    assert_invalid(&status, "filter");
    server.stop().await;
}
