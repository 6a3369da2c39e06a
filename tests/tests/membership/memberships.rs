//! Memberships: the lifecycle, its transitions and their input, etags,
//! concurrency, references and filters.

use super::*;

on_both_backends!(
    membership_lifecycle_records_every_step,
    membership_approval_defaults_start_date,
    membership_reject_path,
    membership_illegal_moves_leave_it_unchanged,
    membership_transition_input_is_validated,
    membership_transition_with_stale_etag_is_aborted,
    concurrent_transitions_have_one_winner,
    membership_one_open_per_group_member_role,
    membership_references_must_exist,
    list_memberships_filters,
);

async fn membership_lifecycle_records_every_step(backend: Backend) {
    let (server, mut c) = start(&backend).await;
    let network = create_group(&mut c, pb::GroupKind::Network, "Network").await;
    let adr = create_org(&mut c, org("RO", "ADR")).await;

    let applied = try_apply(
        &mut c,
        membership(&network.name, &adr.name, pb::Role::Member),
        "people/the-director",
        "",
    )
    .await
    .accepted("CreateMembership");
    assert!(applied.name.starts_with("memberships/"));
    assert_eq!(applied.state, pb::MembershipState::Applied as i32);
    assert_eq!((applied.start_date, applied.end_date), (None, None));
    assert_eq!(applied.history.len(), 1);
    let event = &applied.history[0];
    assert_eq!(event.from_state, pb::MembershipState::Unspecified as i32);
    assert_eq!(event.to_state, pb::MembershipState::Applied as i32);
    assert_eq!(event.decided_by, "people/the-director");
    assert_eq!(event.reason, "wants to take part");
    assert!(event.time.is_some());

    let active = decide(&mut c, &applied, Move::Approve(Some(date(2025, 1, 15)))).await;
    assert_eq!(active.state, pb::MembershipState::Active as i32);
    assert_eq!(active.start_date, Some(date(2025, 1, 15)));
    assert_ne!(active.etag, applied.etag);
    let suspended = decide(&mut c, &active, Move::Suspend).await;
    assert_eq!(suspended.state, pb::MembershipState::Suspended as i32);
    let reinstated = decide(&mut c, &suspended, Move::Reinstate).await;
    assert_eq!(reinstated.state, pb::MembershipState::Active as i32);
    let left = decide(&mut c, &reinstated, Move::End(Some(date(2026, 2, 28)))).await;
    assert_eq!(left.state, pb::MembershipState::Left as i32);
    assert_eq!(left.start_date, Some(date(2025, 1, 15)));
    assert_eq!(left.end_date, Some(date(2026, 2, 28)));

    use pb::MembershipState::{Active, Applied, Left, Suspended, Unspecified};
    let steps: Vec<(i32, i32)> = left
        .history
        .iter()
        .map(|e| (e.from_state, e.to_state))
        .collect();
    assert_eq!(
        steps,
        vec![
            (Unspecified as i32, Applied as i32),
            (Applied as i32, Active as i32),
            (Active as i32, Suspended as i32),
            (Suspended as i32, Active as i32),
            (Active as i32, Left as i32),
        ],
        "every transition, oldest first"
    );
    assert!(
        left.history[1..]
            .iter()
            .all(|e| e.decided_by == "posts/secretary")
    );
    assert!(left.history[1..].iter().all(|e| !e.reason.is_empty()));
    let times: Vec<i64> = left.history.iter().map(|e| micros(&e.time)).collect();
    assert!(
        times.windows(2).all(|w| w[0] <= w[1]),
        "event times are in order: {times:?}"
    );
    assert_eq!(get_membership(&mut c, &left.name).await, left);
    server.stop().await;
}

async fn membership_approval_defaults_start_date(backend: Backend) {
    let (server, mut c) = start(&backend).await;
    let network = create_group(&mut c, pb::GroupKind::Network, "Network").await;
    let a = create_org(&mut c, org("RO", "A")).await;
    let b = create_org(&mut c, org("RO", "B")).await;

    let before = today();
    let m = apply(&mut c, &network.name, &a.name, pb::Role::Member).await;
    let approved = decide(&mut c, &m, Move::Approve(None)).await;
    let after = today();
    let start = approved.start_date.expect("start_date set on approval");
    assert!(
        start == before || start == after,
        "start_date defaults to today: {start:?}"
    );

    // A requested start date is kept when the approval gives none.
    let requested = pb::Membership {
        start_date: Some(date(2025, 9, 1)),
        ..membership(&network.name, &b.name, pb::Role::Member)
    };
    let m = try_apply(&mut c, requested, "people/applicant", "")
        .await
        .accepted("CreateMembership with a start date");
    assert_eq!(m.start_date, Some(date(2025, 9, 1)));
    let approved = decide(&mut c, &m, Move::Approve(None)).await;
    assert_eq!(approved.start_date, Some(date(2025, 9, 1)));
    let ended = decide(&mut c, &approved, Move::End(None)).await;
    let end = ended.end_date.expect("end_date set on end");
    assert!(
        end == before || end == today(),
        "end_date defaults to today"
    );
    server.stop().await;
}

async fn membership_reject_path(backend: Backend) {
    let (server, mut c) = start(&backend).await;
    let network = create_group(&mut c, pb::GroupKind::Network, "Network").await;
    let o = create_org(&mut c, org("RO", "A")).await;
    let m = apply(&mut c, &network.name, &o.name, pb::Role::Member).await;
    let rejected = decide(&mut c, &m, Move::Reject).await;
    assert_eq!(rejected.state, pb::MembershipState::Rejected as i32);
    assert_eq!((rejected.start_date, rejected.end_date), (None, None));
    let last = rejected.history.last().expect("history");
    assert_eq!(
        (last.from_state, last.to_state),
        (
            pb::MembershipState::Applied as i32,
            pb::MembershipState::Rejected as i32
        )
    );
    assert_eq!(rejected.history.len(), 2);
    for step in EVERY_MOVE {
        let status = decide_with(&mut c, &m.name, "", "posts/secretary", step.clone())
            .await
            .refused(&format!("{step:?} after REJECTED"));
        assert_reason(&status, Code::FailedPrecondition, "ILLEGAL_TRANSITION");
    }
    assert_eq!(
        get_membership(&mut c, &m.name).await,
        rejected,
        "REJECTED is final"
    );

    let again = apply(&mut c, &network.name, &o.name, pb::Role::Member).await;
    assert_ne!(again.name, m.name, "a rejected applicant may apply again");
    server.stop().await;
}

async fn membership_illegal_moves_leave_it_unchanged(backend: Backend) {
    let (server, mut c) = start(&backend).await;
    let network = create_group(&mut c, pb::GroupKind::Network, "Network").await;
    let o = create_org(&mut c, org("RO", "A")).await;

    let applied = apply(&mut c, &network.name, &o.name, pb::Role::Member).await;
    for step in [Move::Suspend, Move::Reinstate, Move::End(None)] {
        let status = decide_with(&mut c, &applied.name, "", "people/x", step.clone())
            .await
            .refused(&format!("{step:?} an APPLIED membership"));
        assert_reason(&status, Code::FailedPrecondition, "ILLEGAL_TRANSITION");
    }
    assert_eq!(get_membership(&mut c, &applied.name).await, applied);

    let active = decide(&mut c, &applied, Move::Approve(None)).await;
    for step in [Move::Approve(None), Move::Reject, Move::Reinstate] {
        let status = decide_with(&mut c, &active.name, "", "people/x", step.clone())
            .await
            .refused(&format!("{step:?} an ACTIVE membership"));
        assert_reason(&status, Code::FailedPrecondition, "ILLEGAL_TRANSITION");
    }
    assert_eq!(get_membership(&mut c, &active.name).await, active);

    let suspended = decide(&mut c, &active, Move::Suspend).await;
    for step in [Move::Approve(None), Move::Reject, Move::Suspend] {
        let status = decide_with(&mut c, &suspended.name, "", "people/x", step.clone())
            .await
            .refused(&format!("{step:?} a SUSPENDED membership"));
        assert_code(&status, Code::FailedPrecondition);
    }
    assert_eq!(get_membership(&mut c, &suspended.name).await, suspended);

    let left = decide(&mut c, &suspended, Move::End(None)).await;
    assert_eq!(
        left.state,
        pb::MembershipState::Left as i32,
        "SUSPENDED -> LEFT"
    );
    for step in EVERY_MOVE {
        let status = decide_with(&mut c, &left.name, "", "people/x", step.clone())
            .await
            .refused(&format!("{step:?} a LEFT membership"));
        assert_reason(&status, Code::FailedPrecondition, "ILLEGAL_TRANSITION");
    }
    assert_eq!(
        get_membership(&mut c, &left.name).await,
        left,
        "LEFT is final"
    );
    server.stop().await;
}

async fn membership_transition_input_is_validated(backend: Backend) {
    let (server, mut c) = start(&backend).await;
    let network = create_group(&mut c, pb::GroupKind::Network, "Network").await;
    let o = create_org(&mut c, org("RO", "A")).await;
    let applied = apply(&mut c, &network.name, &o.name, pb::Role::Member).await;

    for step in EVERY_MOVE {
        let status = decide_with(&mut c, &applied.name, "", "  ", step.clone())
            .await
            .refused(&format!("{step:?} without decided_by"));
        assert_invalid(&status, "decided_by");
    }
    let status = decide_with(
        &mut c,
        &applied.name,
        "",
        "people/x",
        Move::Approve(Some(date(2025, 13, 1))),
    )
    .await
    .refused("approval on month 13");
    assert_invalid(&status, "effective_date");
    let status = decide_with(
        &mut c,
        &applied.name,
        "",
        "people/x",
        Move::Approve(Some(date(2025, 2, 30))),
    )
    .await
    .refused("approval on 30 February");
    assert_invalid(&status, "effective_date");
    let status = decide_with(&mut c, "groups/x", "", "people/x", Move::Approve(None))
        .await
        .refused("approval of a malformed name");
    assert_invalid(&status, "name");
    assert_eq!(get_membership(&mut c, &applied.name).await, applied);

    let active = decide(&mut c, &applied, Move::Approve(Some(date(2025, 6, 1)))).await;
    let status = decide_with(
        &mut c,
        &active.name,
        "",
        "people/x",
        Move::End(Some(date(2025, 5, 31))),
    )
    .await
    .refused("end before the start");
    assert_invalid(&status, "effective_date");
    assert_eq!(get_membership(&mut c, &active.name).await, active);
    let ended = decide(&mut c, &active, Move::End(Some(date(2025, 6, 1)))).await;
    assert_eq!(
        ended.end_date,
        Some(date(2025, 6, 1)),
        "a one-day membership"
    );

    let status = try_apply(
        &mut c,
        membership(&network.name, &o.name, pb::Role::Member),
        "",
        "",
    )
    .await
    .refused("CreateMembership without decided_by");
    assert_invalid(&status, "decided_by");
    let status = c
        .create_membership(pb::CreateMembershipRequest {
            decided_by: "people/x".into(),
            ..Default::default()
        })
        .await
        .refused("CreateMembership without membership");
    assert_invalid(&status, "membership");
    let status = try_apply(
        &mut c,
        membership(&network.name, &o.name, pb::Role::Unspecified),
        "people/x",
        "",
    )
    .await
    .refused("CreateMembership without role");
    assert_invalid(&status, "membership.role");
    let status = try_apply(
        &mut c,
        membership(&network.name, &o.name, pb::Role::NationalContactPoint),
        "people/x",
        "",
    )
    .await
    .refused("national contact point as a membership");
    assert_invalid(&status, "membership.role");
    server.stop().await;
}

async fn membership_transition_with_stale_etag_is_aborted(backend: Backend) {
    let (server, mut c) = start(&backend).await;
    let network = create_group(&mut c, pb::GroupKind::Network, "Network").await;
    let o = create_org(&mut c, org("RO", "A")).await;
    let applied = apply(&mut c, &network.name, &o.name, pb::Role::Member).await;

    let active = decide_with(
        &mut c,
        &applied.name,
        &applied.etag,
        "people/x",
        Move::Approve(None),
    )
    .await
    .accepted("approve with the current etag");
    let status = decide_with(
        &mut c,
        &active.name,
        &applied.etag,
        "people/x",
        Move::Suspend,
    )
    .await
    .refused("suspend with the etag from before the approval");
    assert_reason(&status, Code::Aborted, "ETAG_MISMATCH");
    assert_eq!(get_membership(&mut c, &active.name).await, active);
    let status = decide_with(&mut c, &active.name, "garbage", "people/x", Move::Suspend)
        .await
        .refused("suspend with a malformed etag");
    assert_invalid(&status, "etag");
    // A stale caller learns that it is stale before any rule about the
    // current state: approving an ACTIVE membership would also be illegal.
    let status = decide_with(
        &mut c,
        &active.name,
        &applied.etag,
        "people/x",
        Move::Approve(None),
    )
    .await
    .refused("approve again with a stale etag");
    assert_reason(&status, Code::Aborted, "ETAG_MISMATCH");
    decide_with(
        &mut c,
        &active.name,
        &active.etag,
        "people/x",
        Move::Suspend,
    )
    .await
    .accepted("suspend with the current etag");
    server.stop().await;
}

/// Decisions taken at the same moment on one membership: exactly one wins;
/// the others are told the membership changed (ABORTED) or is no longer
/// APPLIED (FAILED_PRECONDITION), and the history records one decision.
async fn concurrent_transitions_have_one_winner(backend: Backend) {
    let (server, mut c) = start(&backend).await;
    let network = create_group(&mut c, pb::GroupKind::Network, "Network").await;
    let o = create_org(&mut c, org("RO", "A")).await;
    let applied = apply(&mut c, &network.name, &o.name, pb::Role::Member).await;

    let mut tasks = tokio::task::JoinSet::new();
    for i in 0..6 {
        let mut c = c.clone();
        let name = applied.name.clone();
        let step = if i % 2 == 0 {
            Move::Approve(None)
        } else {
            Move::Reject
        };
        tasks.spawn(async move {
            decide_with(&mut c, &name, "", &format!("people/official-{i}"), step)
                .await
                .map(Response::into_inner)
        });
    }
    let outcomes = tasks.join_all().await;
    let winners: Vec<&pb::Membership> = outcomes.iter().filter_map(|r| r.as_ref().ok()).collect();
    assert_eq!(winners.len(), 1, "exactly one decision wins: {outcomes:?}");
    for status in outcomes.iter().filter_map(|r| r.as_ref().err()) {
        assert!(
            matches!(status.code(), Code::Aborted | Code::FailedPrecondition),
            "a losing decision is ABORTED or FAILED_PRECONDITION, got {:?}: {}",
            status.code(),
            status.message()
        );
    }
    let stored = get_membership(&mut c, &applied.name).await;
    assert_eq!(&stored, winners[0]);
    assert_eq!(stored.history.len(), 2, "one application, one decision");
    server.stop().await;
}

async fn membership_one_open_per_group_member_role(backend: Backend) {
    let (server, mut c) = start(&backend).await;
    let network = create_group(&mut c, pb::GroupKind::Network, "Network").await;
    let task_force = create_group(&mut c, pb::GroupKind::TaskForce, "Task force").await;
    let o = create_org(&mut c, org("RO", "A")).await;
    let p = create_person(&mut c, &o.name, "Ana Popescu").await;

    let first = apply(&mut c, &network.name, &o.name, pb::Role::Member).await;
    let status = try_apply(
        &mut c,
        membership(&network.name, &o.name, pb::Role::Member),
        "people/x",
        "",
    )
    .await
    .refused("a second open membership, same group/member/role");
    assert_reason(&status, Code::AlreadyExists, "ALREADY_EXISTS");
    let active = decide(&mut c, &first, Move::Approve(None)).await;
    let status = try_apply(
        &mut c,
        membership(&network.name, &o.name, pb::Role::Member),
        "people/x",
        "",
    )
    .await
    .refused("applying while ACTIVE");
    assert_code(&status, Code::AlreadyExists);
    let suspended = decide(&mut c, &active, Move::Suspend).await;
    let status = try_apply(
        &mut c,
        membership(&network.name, &o.name, pb::Role::Member),
        "people/x",
        "",
    )
    .await
    .refused("applying while SUSPENDED");
    assert_code(&status, Code::AlreadyExists);

    // Another role, group or member is another membership.
    apply(&mut c, &network.name, &o.name, pb::Role::Coordinator).await;
    apply(&mut c, &task_force.name, &o.name, pb::Role::Member).await;
    apply(&mut c, &network.name, &p.name, pb::Role::Member).await;

    decide(&mut c, &suspended, Move::End(None)).await;
    let again = apply(&mut c, &network.name, &o.name, pb::Role::Member).await;
    assert_eq!(again.state, pb::MembershipState::Applied as i32);
    assert_ne!(
        again.name, first.name,
        "after LEFT a new application is allowed"
    );
    let for_o = format!(r#"member = "{}" AND role = MEMBER"#, o.name);
    assert_eq!(membership_names(&mut c, &for_o).await.len(), 3);
    server.stop().await;
}

async fn membership_references_must_exist(backend: Backend) {
    let (server, mut c) = start(&backend).await;
    let network = create_group(&mut c, pb::GroupKind::Network, "Network").await;
    let o = create_org(&mut c, org("RO", "A")).await;
    let cases = [
        (
            "unknown group",
            membership("groups/does-not-exist", &o.name, pb::Role::Member),
            "membership.group",
        ),
        (
            "malformed group",
            membership("organizations/x", &o.name, pb::Role::Member),
            "membership.group",
        ),
        (
            "no group",
            membership("", &o.name, pb::Role::Member),
            "membership.group",
        ),
        (
            "unknown organisation",
            membership(
                &network.name,
                "organizations/does-not-exist",
                pb::Role::Member,
            ),
            "membership.member",
        ),
        (
            "unknown person",
            membership(&network.name, "people/does-not-exist", pb::Role::Member),
            "membership.member",
        ),
        (
            "member that is a group",
            membership(&network.name, &network.name, pb::Role::Member),
            "membership.member",
        ),
        (
            "no member",
            membership(&network.name, "", pb::Role::Member),
            "membership.member",
        ),
    ];
    for (case, m, field) in cases {
        let status = try_apply(&mut c, m, "people/x", "")
            .await
            .refused(&format!("CreateMembership with {case}"));
        assert_invalid(&status, field);
    }
    assert_eq!(membership_names(&mut c, "").await, Vec::<String>::new());
    server.stop().await;
}

async fn list_memberships_filters(backend: Backend) {
    let (server, mut c) = start(&backend).await;
    let network = create_group(&mut c, pb::GroupKind::Network, "Network").await;
    let task_force = create_group(&mut c, pb::GroupKind::TaskForce, "Task force").await;
    let a = create_org(&mut c, org("RO", "A")).await;
    let b = create_org(&mut c, org("SE", "B")).await;
    let ana = create_person(&mut c, &a.name, "Ana Popescu").await;

    let a_net = apply(&mut c, &network.name, &a.name, pb::Role::Member).await;
    let a_net = decide(&mut c, &a_net, Move::Approve(None)).await;
    let b_net = apply(&mut c, &network.name, &b.name, pb::Role::Member).await;
    let ana_tf = apply(
        &mut c,
        &task_force.name,
        &ana.name,
        pb::Role::TaskForceChair,
    )
    .await;
    let ana_tf = decide(&mut c, &ana_tf, Move::Approve(None)).await;
    let b_tf = apply(&mut c, &task_force.name, &b.name, pb::Role::TaskForceMember).await;
    decide(&mut c, &b_tf, Move::Reject).await;

    let cases: Vec<(String, Vec<&String>)> = vec![
        (
            String::new(),
            vec![&a_net.name, &b_net.name, &ana_tf.name, &b_tf.name],
        ),
        (
            format!(r#"group = "{}""#, network.name),
            vec![&a_net.name, &b_net.name],
        ),
        (
            format!(r#"member = "{}""#, b.name),
            vec![&b_net.name, &b_tf.name],
        ),
        (format!(r#"member = "{}""#, ana.name), vec![&ana_tf.name]),
        ("role = TASK_FORCE_CHAIR".into(), vec![&ana_tf.name]),
        ("state = ACTIVE".into(), vec![&a_net.name, &ana_tf.name]),
        ("state = REJECTED".into(), vec![&b_tf.name]),
        (
            "(state = APPLIED OR state = REJECTED)".into(),
            vec![&b_net.name, &b_tf.name],
        ),
        (
            format!(r#"group = "{}" AND state = ACTIVE"#, task_force.name),
            vec![&ana_tf.name],
        ),
        (
            format!(
                r#"group = "{}" AND role = MEMBER AND state = APPLIED"#,
                network.name
            ),
            vec![&b_net.name],
        ),
    ];
    for (filter, expected) in cases {
        assert_eq!(
            set(&membership_names(&mut c, &filter).await),
            set(&expected),
            "filter {filter:?}"
        );
    }
    let page = c
        .list_memberships(pb::ListMembershipsRequest {
            filter: format!(r#"member = "{}""#, a.name),
            ..Default::default()
        })
        .await
        .accepted("ListMemberships");
    assert_eq!(page.memberships, vec![a_net], "listed with their history");
    for filter in ["state = GONE", r#"member = "groups/x""#, "role = CAPTAIN"] {
        let status = c
            .list_memberships(pb::ListMembershipsRequest {
                filter: filter.into(),
                ..Default::default()
            })
            .await
            .refused(&format!("ListMemberships {filter:?}"));
        assert_invalid(&status, "filter");
    }
    server.stop().await;
}
