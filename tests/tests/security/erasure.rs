//! GDPR across the suite: every "who" field is a resource name (a typed name
//! is refused by every service), ExportPersonData finds a person wherever
//! the suite names them, for lab administrators only and audited, and after
//! ErasePerson the export holds nothing personal while the audit log still
//! verifies.

use innolab_proto::innolab::gateway::v1 as gw;
use innolab_proto::innolab::impact::v1 as im;

use innolab_tests::fixtures::{
    initiative_request, membership_request, network_request, organization_request,
};

use super::audit::AuditDb;
use super::*;

/// What the person is, in clear: none of it may survive the erasure.
const PERSONAL: [&str; 5] = [
    "Ioana",
    "Marinescu",
    "ioana.marinescu@",
    "+40712345678",
    "ioana.m",
];

fn typed_name_refused(status: Status, field: &str) {
    assert_eq!(status.code(), Code::InvalidArgument, "{status:?}");
    let fields: Vec<String> = status
        .get_error_details()
        .bad_request()
        .map(|b| b.field_violations.iter().map(|v| v.field.clone()).collect())
        .unwrap_or_default();
    assert_eq!(fields, [field], "{status:?}");
    assert!(status.message().contains("people/{id}"), "{status:?}");
}

async fn a_person_is_exported_from_every_service_then_erased_leaving_nothing_personal(
    backend: Backend,
) {
    let dir = tempfile::tempdir().unwrap();
    let mut s = setup(dir.path(), "organizations/editor-org");
    let db = AuditDb::on(&backend, &mut s);
    let suite = Suite::start_with(&backend, security_of(&s.vars).unwrap()).await;
    let channel = connect(&suite, &s.ca.pem, None).await.unwrap();
    let mut members = mb::membership_service_client::MembershipServiceClient::new(channel.clone());
    let mut cases = ini::initiatives_service_client::InitiativesServiceClient::new(channel.clone());
    let mut impact = im::impact_service_client::ImpactServiceClient::new(channel.clone());
    let mut gateway = gw::gateway_service_client::GatewayServiceClient::new(channel);
    let admin = s.signer.token("k1", ADMIN, "innolab", 600);
    let reader = s.signer.token("k1", READER, "innolab", 600);
    // As the administrator (a macro: the messages are of many types).
    macro_rules! a {
        ($message:expr) => {
            with_token($message, Some(&admin))
        };
    }

    // The person, created by an administrator acting for end user ioana.m.
    let org = members
        .create_organization(a!(organization_request("Secretariatul General", "RO")))
        .await
        .unwrap()
        .into_inner()
        .name;
    let mut create = a!(mb::CreatePersonRequest {
        person: Some(mb::Person {
            organization: org.clone(),
            display_name: "Ioana Marinescu".into(),
            email: "ioana.marinescu@gov.example".into(),
            phone: "+40712345678".into(),
            ..Default::default()
        }),
        request_id: String::new(),
    });
    create
        .metadata_mut()
        .insert("x-user-id", "ioana.m".parse().unwrap());
    let person = members
        .create_person(create)
        .await
        .unwrap()
        .into_inner()
        .name;

    // Named in membership: a membership step and a post.
    let group = members
        .create_group(a!(network_request("Network")))
        .await
        .unwrap()
        .into_inner()
        .name;
    let membership = members
        .create_membership(a!(membership_request(&group, &org, &group)))
        .await
        .unwrap()
        .into_inner()
        .name;
    let typed = members
        .approve_membership(a!(mb::ApproveMembershipRequest {
            name: membership.clone(),
            decided_by: "Ioana Marinescu".into(),
            ..Default::default()
        }))
        .await
        .unwrap_err();
    typed_name_refused(typed, "decided_by");
    members
        .approve_membership(a!(mb::ApproveMembershipRequest {
            name: membership.clone(),
            decided_by: person.clone(),
            reason: "approved".into(),
            ..Default::default()
        }))
        .await
        .unwrap();
    let post = members
        .create_post(a!(mb::CreatePostRequest {
            post: Some(mb::Post {
                group: group.clone(),
                role: mb::Role::NationalContactPoint as i32,
                country_code: "RO".into(),
                ..Default::default()
            }),
            request_id: String::new(),
        }))
        .await
        .unwrap()
        .into_inner()
        .name;
    members
        .assign_post_holder(a!(mb::AssignPostHolderRequest {
            name: post.clone(),
            person: person.clone(),
            decided_by: org.clone(),
            ..Default::default()
        }))
        .await
        .unwrap();

    // Named in initiatives: the timeline's creation, a move refused, and
    // the adoption of another case, confirmed by the person.
    let mut recorded = initiative_request("One-stop shop", &org, "RO");
    recorded.actor = person.clone();
    let case = cases
        .create_initiative(a!(recorded))
        .await
        .unwrap()
        .into_inner()
        .name;
    let source = cases
        .create_initiative(a!(initiative_request("Digital permits", &org, "RO")))
        .await
        .unwrap()
        .into_inner()
        .name;
    let adoption = cases
        .create_adoption(a!(ini::CreateAdoptionRequest {
            adoption: Some(ini::Adoption {
                initiative: case.clone(),
                source: source.clone(),
                kind: ini::AdoptionKind::Adapts as i32,
                ..Default::default()
            }),
            request_id: String::new(),
        }))
        .await
        .unwrap()
        .into_inner()
        .name;
    cases
        .confirm_adoption(a!(ini::ConfirmAdoptionRequest {
            name: adoption.clone(),
            side: ini::AdoptionSide::Both as i32,
            confirmed_by: person.clone(),
            ..Default::default()
        }))
        .await
        .unwrap();
    let typed = cases
        .move_initiative_stage(a!(ini::MoveInitiativeStageRequest {
            name: case.clone(),
            stage: ini::InitiativeStage::GeneratingIdeas as i32,
            actor: "Ioana M.".into(),
            ..Default::default()
        }))
        .await
        .unwrap_err();
    typed_name_refused(typed, "actor");

    // Named in impact: an evaluator and a workflow step.
    let assessment = impact
        .create_assessment(a!(im::CreateAssessmentRequest {
            assessment: Some(im::Assessment {
                initiative: case.clone(),
                title: "Did the one-stop shop shorten waits?".into(),
                evaluators: vec![person.clone()],
                ..Default::default()
            }),
            request_id: String::new(),
        }))
        .await
        .unwrap()
        .into_inner()
        .name;
    let typed = impact
        .start_assessment(a!(im::StartAssessmentRequest {
            name: assessment.clone(),
            decided_by: "Ioana".into(),
            ..Default::default()
        }))
        .await
        .unwrap_err();
    typed_name_refused(typed, "decided_by");
    impact
        .start_assessment(a!(im::StartAssessmentRequest {
            name: assessment.clone(),
            decided_by: person.clone(),
            ..Default::default()
        }))
        .await
        .unwrap();

    // A reader's `*/Export*` does not reach one person's data; an
    // administrator's export finds every place.
    let export = |token: &str| {
        with_token(
            gw::ExportPersonDataRequest {
                name: person.clone(),
                user_id: "ioana.m".into(),
            },
            Some(token),
        )
    };
    let denied = gateway.export_person_data(export(&reader)).await;
    assert_eq!(denied.unwrap_err().code(), Code::PermissionDenied);
    let before = gateway
        .export_person_data(export(&admin))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(
        before.person.as_ref().unwrap().display_name,
        "Ioana Marinescu"
    );
    let mut places: Vec<(String, String, String)> = before
        .references
        .iter()
        .map(|r| (r.service.clone(), r.resource.clone(), r.field.clone()))
        .collect();
    places.sort();
    let place = |service: &str, resource: &str, field: &str| {
        (service.to_string(), resource.to_string(), field.to_string())
    };
    let mut expected = vec![
        place("impact", &assessment, "evaluators"),
        place("impact", &assessment, "history.decided_by"),
        place(
            "initiatives",
            &adoption,
            "adopter_confirmation.confirmed_by",
        ),
        place("initiatives", &adoption, "source_confirmation.confirmed_by"),
        place("initiatives", &case, "timeline.actor"),
        place("membership", &membership, "history.decided_by"),
        place("membership", &post, "holdings.person"),
    ];
    expected.sort();
    assert_eq!(places, expected);
    let approval = before
        .references
        .iter()
        .find(|r| r.resource == membership)
        .unwrap();
    assert_eq!(approval.detail, "APPLIED -> ACTIVE: approved");
    // The audit entries about the person: its creation (made for end user
    // ioana.m, found by either key), and nothing of anyone else.
    assert!(
        before
            .audit_entries
            .iter()
            .any(|e| e.method.ends_with("/CreatePerson") && e.resource == person),
        "{:?}",
        before.audit_entries
    );

    // Erased: the record keeps its name and erasure time, the references
    // only the name; nothing of the person is left in clear anywhere.
    members
        .erase_person(a!(mb::ErasePersonRequest {
            name: person.clone(),
            reason: "GDPR request 2026-17".into(),
        }))
        .await
        .unwrap();
    let after = gateway
        .export_person_data(export(&admin))
        .await
        .unwrap()
        .into_inner();
    let erased = after.person.as_ref().unwrap();
    assert!(erased.erase_time.is_some());
    assert_eq!(after.references.len(), before.references.len());
    let everything = format!("{after:?}");
    for personal in PERSONAL {
        assert!(
            !everything.contains(personal),
            "{personal:?} is still held: {everything}"
        );
    }
    assert!(
        after
            .audit_entries
            .iter()
            .any(|e| e.method.ends_with("/ErasePerson") && e.outcome == "OK"),
        "the erasure is in the audit log"
    );

    // Each export is itself in the audit log (the denied one too), and the
    // log verifies.
    let (mut exported, mut denied) = (0, 0);
    for _ in 0..100 {
        let listed = gateway
            .list_audit_entries(a!(gw::ListAuditEntriesRequest {
                page_size: 1000,
                ..Default::default()
            }))
            .await
            .unwrap()
            .into_inner()
            .entries;
        let exports = || {
            listed
                .iter()
                .filter(|e| e.method.ends_with("/ExportPersonData"))
        };
        exported = exports()
            .filter(|e| e.outcome == "OK" && e.resource == person)
            .count();
        denied = exports()
            .filter(|e| e.outcome == "PERMISSION_DENIED" && e.client_id == READER)
            .count();
        if exported + denied >= 3 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!((exported, denied), (2, 1), "every export is audited");
    let store = db.open().await;
    assert_eq!(
        innolab_gateway::audit::verify(&store, &Default::default())
            .await
            .unwrap(),
        None,
        "erasure never breaks the chain"
    );
    sqlx::any::install_default_drivers();
    let pool = sqlx::AnyPool::connect(&db.url).await.unwrap();
    db.drop(&pool).await;
    pool.close().await;
    suite.stop().await;
}

innolab_tests::on_both_backends!(
    a_person_is_exported_from_every_service_then_erased_leaving_nothing_personal
);
