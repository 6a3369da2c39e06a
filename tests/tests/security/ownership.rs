//! Member editors write only their own organisation's records: the gateway
//! reads the stored record before letting a write through.

use super::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_member_editor_writes_only_its_own_organisations_records() {
    // Organisations and another organisation's initiative are stored directly
    // at the services; then the gateway starts with a table that makes the
    // editor a member of `own`.
    let mut suite = Suite::start_services(&Backend::Sqlite).await;
    let mut members = mb::membership_service_client::MembershipServiceClient::new(
        suite.membership.channel().await,
    );
    let mut direct = ini::initiatives_service_client::InitiativesServiceClient::new(
        suite.initiatives.channel().await,
    );
    let own = organization(&mut members, "Primăria Cluj", "RO").await;
    let other = organization(&mut members, "Primăria Iași", "RO").await;
    let initiative = |lead: &str| ini::Initiative {
        titles: vec![ini::LocalizedText {
            language_code: "ro".into(),
            text: "Autorizații digitale".into(),
        }],
        lead_organization: lead.into(),
        country_code: "RO".into(),
        ..Default::default()
    };
    let theirs = direct
        .create_initiative(ini::CreateInitiativeRequest {
            initiative: Some(initiative(&other)),
            actor: "people/admin".into(),
            request_id: String::new(),
        })
        .await
        .unwrap()
        .into_inner();

    let dir = tempfile::tempdir().unwrap();
    let s = setup(dir.path(), &own);
    suite.start_gateway(security_of(&s.vars).unwrap()).await;
    let channel = connect(&suite, &s.ca.pem, None).await.unwrap();
    let editor = s.signer.token("k1", EDITOR, "innolab", 300);
    let mut library = ini::initiatives_service_client::InitiativesServiceClient::new(channel);
    let create = |lead: &str| {
        with_token(
            ini::CreateInitiativeRequest {
                initiative: Some(initiative(lead)),
                actor: "people/editor".into(),
                request_id: String::new(),
            },
            Some(&editor),
        )
    };

    // Its own organisation's initiative: created and moved.
    let mine = library
        .create_initiative(create(&own))
        .await
        .unwrap()
        .into_inner();
    library
        .move_initiative_stage(with_token(
            ini::MoveInitiativeStageRequest {
                name: mine.name.clone(),
                stage: ini::InitiativeStage::GeneratingIdeas as i32,
                actor: "people/editor".into(),
                ..Default::default()
            },
            Some(&editor),
        ))
        .await
        .unwrap();

    // Another organisation's: refused, whether it exists or is guessed.
    let denied = |outcome: Result<tonic::Response<ini::Initiative>, Status>, what: &str| {
        let status = outcome.unwrap_err();
        assert_eq!(status.code(), Code::PermissionDenied, "{what}: {status:?}");
        status.message().to_string()
    };
    denied(
        library.create_initiative(create(&other)).await,
        "create for another organisation",
    );
    let update = |name: &str, lead: &str| {
        let mut record = initiative(lead);
        record.name = name.into();
        with_token(
            ini::UpdateInitiativeRequest {
                initiative: Some(record),
                update_mask: Some(prost_types::FieldMask {
                    paths: vec!["titles".into()],
                }),
            },
            Some(&editor),
        )
    };
    let timed = std::time::Instant::now();
    let existing = denied(
        library.update_initiative(update(&theirs.name, &own)).await,
        "update of another organisation's initiative",
    );
    let existing_took = timed.elapsed();
    let timed = std::time::Instant::now();
    let guessed = denied(
        library
            .update_initiative(update("initiatives/0000000000000000", &own))
            .await,
        "update of a guessed id",
    );
    let guessed_took = timed.elapsed();
    // Both wait out the same floor, so their timing does not tell them apart.
    for took in [existing_took, guessed_took] {
        assert!(
            took >= innolab_gateway::security::ownership::DENIAL_FLOOR,
            "a denial answered after {took:?}"
        );
    }
    assert_eq!(
        existing, guessed,
        "a denial does not reveal whether the record exists"
    );
    denied(
        library.update_initiative(update(&mine.name, &other)).await,
        "handing its initiative to another organisation",
    );
    denied(
        library
            .move_initiative_stage(with_token(
                ini::MoveInitiativeStageRequest {
                    name: theirs.name.clone(),
                    stage: ini::InitiativeStage::GeneratingIdeas as i32,
                    actor: "people/editor".into(),
                    ..Default::default()
                },
                Some(&editor),
            ))
            .await,
        "moving another organisation's initiative",
    );
    // Its own, updated through the same rule.
    library
        .update_initiative(update(&mine.name, &own))
        .await
        .unwrap();
    let stored = direct
        .get_initiative(ini::GetInitiativeRequest {
            name: theirs.name.clone(),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(
        stored.etag, theirs.etag,
        "the other organisation's record is untouched"
    );
    suite.stop().await;
}
