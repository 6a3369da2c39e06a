//! Records the tests make again and again, created over gRPC.

use innolab_proto::innolab::guidance::v1 as gd;
use innolab_proto::innolab::membership::v1 as mb;
use mb::membership_service_client::MembershipServiceClient;
use tonic::transport::Channel;

/// The request stream of an upload to `document` that sends its
/// metadata (a PDF named `filename`) and one chunk of `chunk` bytes, then
/// stays silent while the returned sender is held.
pub async fn stalled_upload(
    document: &str,
    filename: &str,
    chunk: Vec<u8>,
) -> (
    tokio::sync::mpsc::Sender<gd::UploadAttachmentRequest>,
    tokio_stream::wrappers::ReceiverStream<gd::UploadAttachmentRequest>,
) {
    use gd::upload_attachment_request::Part;
    let (tx, rx) = tokio::sync::mpsc::channel(4);
    for part in [
        Part::Metadata(gd::UploadMetadata {
            parent: document.to_string(),
            attachment: Some(gd::Attachment {
                filename: filename.into(),
                content_type: "application/pdf".into(),
                sha256: "0".repeat(64),
                ..Default::default()
            }),
            request_id: String::new(),
        }),
        Part::Chunk(chunk),
    ] {
        tx.send(gd::UploadAttachmentRequest { part: Some(part) })
            .await
            .unwrap();
    }
    (tx, tokio_stream::wrappers::ReceiverStream::new(rx))
}

/// The request that creates a government organisation named `name` in
/// `country` (a valid one: the service accepts it).
pub fn organization_request(name: &str, country: &str) -> mb::CreateOrganizationRequest {
    mb::CreateOrganizationRequest {
        organization: Some(mb::Organization {
            display_names: vec![mb::LocalizedText {
                language_code: "en".into(),
                text: name.into(),
            }],
            kind: mb::OrganizationKind::Government as i32,
            country_code: country.into(),
            ..Default::default()
        }),
        request_id: String::new(),
    }
}

/// A government organisation named `name` in `country`; its resource name.
pub async fn organization(
    client: &mut MembershipServiceClient<Channel>,
    name: &str,
    country: &str,
) -> String {
    client
        .create_organization(organization_request(name, country))
        .await
        .unwrap_or_else(|s| panic!("CreateOrganization {name:?}: {s:?}"))
        .into_inner()
        .name
}

/// An import stream of `rows`: the request id and an actor on the first
/// message.
pub fn import_messages(
    request_id: &str,
    rows: Vec<innolab_proto::innolab::initiatives::v1::Initiative>,
) -> Vec<innolab_proto::innolab::initiatives::v1::ImportInitiativesRequest> {
    rows.into_iter()
        .enumerate()
        .map(
            |(i, initiative)| innolab_proto::innolab::initiatives::v1::ImportInitiativesRequest {
                request_id: if i == 0 {
                    request_id.to_string()
                } else {
                    String::new()
                },
                initiative: Some(initiative),
                actor: if i == 0 {
                    "organizations/register-loader".into()
                } else {
                    String::new()
                },
            },
        )
        .collect()
}

/// The request that records an initiative titled `title` (in English), led
/// by `lead` in `country`, recorded by a person of the lab.
pub fn initiative_request(
    title: &str,
    lead: &str,
    country: &str,
) -> innolab_proto::innolab::initiatives::v1::CreateInitiativeRequest {
    use innolab_proto::innolab::initiatives::v1 as ini;
    ini::CreateInitiativeRequest {
        initiative: Some(ini::Initiative {
            titles: vec![ini::LocalizedText {
                language_code: "en".into(),
                text: title.into(),
            }],
            lead_organization: lead.into(),
            country_code: country.into(),
            ..Default::default()
        }),
        actor: "people/lab".into(),
        request_id: String::new(),
    }
}

/// The request that creates the network group named `name`.
pub fn network_request(name: &str) -> mb::CreateGroupRequest {
    mb::CreateGroupRequest {
        group: Some(mb::Group {
            display_name: name.into(),
            kind: mb::GroupKind::Network as i32,
            ..Default::default()
        }),
        request_id: String::new(),
    }
}

/// The request by which `member` applies to join `group` as a member,
/// recorded as decided by `decided_by` (a resource name).
pub fn membership_request(
    group: &str,
    member: &str,
    decided_by: &str,
) -> mb::CreateMembershipRequest {
    mb::CreateMembershipRequest {
        membership: Some(mb::Membership {
            group: group.into(),
            member: member.into(),
            role: mb::Role::Member as i32,
            ..Default::default()
        }),
        decided_by: decided_by.into(),
        ..Default::default()
    }
}

/// Makes `translation` the one translation of a new edition of `document`
/// and publishes it (create, submit, publish); the edition's name.
pub async fn publish(
    client: &mut gd::guidance_service_client::GuidanceServiceClient<Channel>,
    document: &str,
    translation: gd::Translation,
) -> String {
    use crate::assert::Outcome as _;
    let edition = client
        .create_edition(gd::CreateEditionRequest {
            parent: document.into(),
            edition: Some(gd::Edition {
                translations: vec![translation],
                ..Default::default()
            }),
            request_id: String::new(),
        })
        .await
        .accepted("CreateEdition");
    client
        .submit_edition(gd::SubmitEditionRequest {
            name: edition.name.clone(),
            etag: String::new(),
        })
        .await
        .accepted("SubmitEdition");
    client
        .publish_edition(gd::PublishEditionRequest {
            name: edition.name.clone(),
            etag: String::new(),
        })
        .await
        .accepted("PublishEdition");
    edition.name
}

/// Where a test's open-data release says it is published, and by whom.
pub fn release() -> innolab_kit::opendata::Release {
    innolab_kit::opendata::Release {
        base_url: "https://data.example.gov/innolab/".into(),
        publisher_uri: "https://sgg.gov.ro/".into(),
        publisher_name: "Secretariatul General al Guvernului".into(),
        licence: innolab_kit::opendata::CC_BY_4.into(),
    }
}
