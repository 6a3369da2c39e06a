//! Who has solved this already, through the gateway over the four real
//! services: a Romanian query typed with cedilla letters finds a Finnish
//! case through its Romanian translation, the guidance that speaks of the
//! problem (comma-below text) and the organisation behind the case, each
//! with its reasons.

#![allow(clippy::expect_used, clippy::unwrap_used, clippy::panic)]

use innolab_proto::innolab::gateway::v1 as gw;
use innolab_proto::innolab::guidance::v1 as gd;
use innolab_proto::innolab::initiatives::v1 as ini;
use innolab_proto::innolab::membership::v1 as mb;
use innolab_tests::assert::{Outcome, assert_invalid};
use innolab_tests::fixtures::{organization, publish};
use innolab_tests::{Backend, Suite, on_both_backends};
use tonic::transport::Channel;

fn text(language: &str, text: &str) -> ini::LocalizedText {
    ini::LocalizedText {
        language_code: language.into(),
        text: text.into(),
    }
}

/// Publishes a guide whose one translation is Romanian.
async fn guide(
    guides: &mut gd::guidance_service_client::GuidanceServiceClient<Channel>,
    title: &str,
    body: &str,
) -> String {
    let doc = guides
        .create_document(gd::CreateDocumentRequest {
            document: Some(gd::Document {
                r#type: gd::DocumentType::Guide as i32,
                title: title.into(),
                license: "CC-BY-4.0".into(),
                ..Default::default()
            }),
            request_id: String::new(),
        })
        .await
        .accepted("CreateDocument");
    publish(
        guides,
        &doc.name,
        gd::Translation {
            language_code: "ro".into(),
            title: title.into(),
            summary: String::new(),
            body: body.into(),
            original: true,
        },
    )
    .await;
    doc.name
}

async fn the_gateway_finds_cases_guidance_and_organisations(backend: Backend) {
    let suite = Suite::start(&backend).await;
    let channel = suite.channel().await;
    let mut members = mb::membership_service_client::MembershipServiceClient::new(channel.clone());
    let mut library =
        ini::initiatives_service_client::InitiativesServiceClient::new(channel.clone());
    let mut guides = gd::guidance_service_client::GuidanceServiceClient::new(channel.clone());
    let mut gateway = gw::gateway_service_client::GatewayServiceClient::new(channel);

    let espoo = organization(&mut members, "Espoon kaupunki", "FI").await;
    let case = library
        .create_initiative(ini::CreateInitiativeRequest {
            initiative: Some(ini::Initiative {
                titles: vec![
                    text("fi", "Sähköinen rakennuslupa"),
                    text("ro", "Ghișeele digitale pentru certificatele de urbanism"),
                ],
                localized_problem: vec![text("fi", "Kansalaiset jonottavat rakennuslupia.")],
                lead_organization: espoo.clone(),
                country_code: "FI".into(),
                ..Default::default()
            }),
            actor: String::new(),
            request_id: String::new(),
        })
        .await
        .accepted("CreateInitiative")
        .name;
    let permits_guide = guide(
        &mut guides,
        "Certificatele de urbanism online",
        "Certificatele se eliberează online, fără drum la ghișeele primăriei.",
    )
    .await;
    guide(&mut guides, "Achiziții publice", "Licitații deschise.").await;

    let query = ini::FindSimilarRequest {
        text: "Cozi la ghişeele primăriei pentru certificatele de urbanism".into(),
        language_code: "ro".into(),
        ..Default::default()
    };
    let answer = gateway
        .find_similar(gw::FindSimilarRequest {
            query: Some(query.clone()),
        })
        .await
        .accepted("FindSimilar");
    assert!(
        answer.missing_parts.is_empty(),
        "{:?}",
        answer.missing_parts
    );
    assert_eq!(answer.query_text, query.text);
    let cases: Vec<&str> = answer.matches.iter().map(|m| m.name.as_str()).collect();
    assert_eq!(cases, [case.as_str()]);
    assert!(!answer.matches[0].reasons.is_empty());
    // Guidance, word by word: the cedilla query met the comma-below guide.
    let docs: Vec<&str> = answer
        .documents
        .iter()
        .map(|d| d.document.as_str())
        .collect();
    assert_eq!(docs, [permits_guide.as_str()]);
    let words = &answer.documents[0].reasons[0];
    assert_eq!(words.kind, ini::match_reason::Kind::Words as i32);
    assert!(
        words.values.contains(&"certificatele".to_string()),
        "{words:?}"
    );
    assert!(words.values.contains(&"ghișeele".to_string()), "{words:?}");
    // The organisation behind the case, whole.
    assert_eq!(answer.organizations.len(), 1);
    let behind = &answer.organizations[0];
    assert_eq!(behind.organization.as_ref().unwrap().name, espoo);
    assert_eq!(behind.matches, std::slice::from_ref(&case));

    // The query is required; the initiatives service's refusals pass through.
    let status = gateway
        .find_similar(gw::FindSimilarRequest { query: None })
        .await
        .unwrap_err();
    assert_invalid(&status, "query");
    let status = gateway
        .find_similar(gw::FindSimilarRequest {
            query: Some(ini::FindSimilarRequest::default()),
        })
        .await
        .unwrap_err();
    // Named as the caller sees them, within the gateway's request.
    assert_invalid(&status, "query.text");
    assert_invalid(&status, "query.initiative");
    suite.stop().await;
}

on_both_backends!(the_gateway_finds_cases_guidance_and_organisations,);
