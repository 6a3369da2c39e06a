//! Adoptions through the secured gateway: a member editor records adoptions
//! only for the initiatives its organisation leads (the adopter side),
//! confirms only the side it leads, and withdraws from either side it
//! leads; a lab administrator confirms both sides at once.

use innolab_tests::fixtures::initiative_request;

use super::*;

fn adoption(initiative: &str, source: &str) -> ini::Adoption {
    ini::Adoption {
        initiative: initiative.into(),
        source: source.into(),
        kind: ini::AdoptionKind::Adapts as i32,
        ..Default::default()
    }
}

/// An initiative led by `lead`, stored at the service directly.
async fn case(
    direct: &mut ini::initiatives_service_client::InitiativesServiceClient<Channel>,
    lead: &str,
    title: &str,
) -> String {
    direct
        .create_initiative(initiative_request(title, lead, "RO"))
        .await
        .unwrap()
        .into_inner()
        .name
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn member_editors_record_and_confirm_only_their_own_side() {
    let mut suite = Suite::start_services(&Backend::Sqlite).await;
    let mut members = mb::membership_service_client::MembershipServiceClient::new(
        suite.membership.channel().await,
    );
    let mut direct = ini::initiatives_service_client::InitiativesServiceClient::new(
        suite.initiatives.channel().await,
    );
    let own = organization(&mut members, "Primăria Cluj", "RO").await;
    let other = organization(&mut members, "City of Tampere", "FI").await;
    let mine = case(&mut direct, &own, "Ghișeul Cluj").await;
    let theirs = case(&mut direct, &other, "Digital counter").await;
    let also_theirs = case(&mut direct, &other, "Digital counter, phase 2").await;

    let dir = tempfile::tempdir().unwrap();
    let s = setup(dir.path(), &own);
    suite.start_gateway(security_of(&s.vars).unwrap()).await;
    let channel = connect(&suite, &s.ca.pem, None).await.unwrap();
    let editor = s.signer.token("k1", EDITOR, "innolab", 300);
    let admin = s.signer.token("k1", ADMIN, "innolab", 300);
    let mut library = ini::initiatives_service_client::InitiativesServiceClient::new(channel);
    let denied = |outcome: Result<tonic::Response<ini::Adoption>, Status>, what: &str| {
        let status = outcome.unwrap_err();
        assert_eq!(status.code(), Code::PermissionDenied, "{what}: {status:?}");
    };
    let create = |a: ini::Adoption, token: &str| {
        with_token(
            ini::CreateAdoptionRequest {
                adoption: Some(a),
                request_id: String::new(),
            },
            Some(token),
        )
    };
    let confirm = |name: &str, side: ini::AdoptionSide, token: &str| {
        with_token(
            ini::ConfirmAdoptionRequest {
                name: name.into(),
                etag: String::new(),
                side: side as i32,
                confirmed_by: "people/contact".into(),
            },
            Some(token),
        )
    };
    let update = |name: &str, token: &str| {
        with_token(
            ini::UpdateAdoptionRequest {
                adoption: Some(ini::Adoption {
                    name: name.into(),
                    outcome: "Fewer visits.".into(),
                    ..Default::default()
                }),
                update_mask: Some(prost_types::FieldMask {
                    paths: vec!["outcome".into()],
                }),
            },
            Some(token),
        )
    };
    let withdraw = |name: &str, token: &str| {
        with_token(
            ini::WithdrawAdoptionRequest {
                name: name.into(),
                etag: String::new(),
                withdrawn_by: "people/contact".into(),
                reason: "Not derived from ours.".into(),
            },
            Some(token),
        )
    };

    // Its own initiative adopting another's: recorded, its side confirmed
    // and its texts edited; the source's side is not its to confirm.
    let ours = library
        .create_adoption(create(adoption(&mine, &theirs), &editor))
        .await
        .unwrap()
        .into_inner();
    denied(
        library
            .create_adoption(create(adoption(&also_theirs, &mine), &editor))
            .await,
        "an adoption by another organisation's initiative",
    );
    library
        .confirm_adoption(confirm(&ours.name, ini::AdoptionSide::Adopter, &editor))
        .await
        .unwrap();
    for side in [ini::AdoptionSide::Source, ini::AdoptionSide::Both] {
        denied(
            library
                .confirm_adoption(confirm(&ours.name, side, &editor))
                .await,
            "confirming the source's side",
        );
    }
    library
        .update_adoption(update(&ours.name, &editor))
        .await
        .unwrap();
    // The administrator confirms the other side: confirmed.
    let confirmed = library
        .confirm_adoption(confirm(&ours.name, ini::AdoptionSide::Source, &admin))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(confirmed.state, ini::AdoptionState::Confirmed as i32);

    // Another's initiative adopting its own: it confirms or rejects
    // (withdraws) as the source, and edits nothing of the adopter's.
    let adopted_from_us = library
        .create_adoption(create(adoption(&also_theirs, &mine), &admin))
        .await
        .unwrap()
        .into_inner();
    denied(
        library
            .confirm_adoption(confirm(
                &adopted_from_us.name,
                ini::AdoptionSide::Adopter,
                &editor,
            ))
            .await,
        "confirming the adopter's side",
    );
    denied(
        library
            .update_adoption(update(&adopted_from_us.name, &editor))
            .await,
        "editing the adopter's texts",
    );
    library
        .confirm_adoption(confirm(
            &adopted_from_us.name,
            ini::AdoptionSide::Source,
            &editor,
        ))
        .await
        .unwrap();
    library
        .withdraw_adoption(withdraw(&adopted_from_us.name, &editor))
        .await
        .unwrap();

    // Neither side its own: nothing; a guessed name looks the same.
    let between_others = library
        .create_adoption(create(adoption(&also_theirs, &theirs), &admin))
        .await
        .unwrap()
        .into_inner();
    denied(
        library
            .withdraw_adoption(withdraw(&between_others.name, &editor))
            .await,
        "withdrawing an adoption between other organisations",
    );
    denied(
        library
            .withdraw_adoption(withdraw("adoptions/0000000000000000", &editor))
            .await,
        "withdrawing a guessed adoption",
    );
    // A lab administrator confirms both sides at once.
    let both = library
        .confirm_adoption(confirm(
            &between_others.name,
            ini::AdoptionSide::Both,
            &admin,
        ))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(both.state, ini::AdoptionState::Confirmed as i32);
    suite.stop().await;
}
