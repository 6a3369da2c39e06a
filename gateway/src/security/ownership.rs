//! Ownership: what a member editor may write is decided against the data, not
//! trusted from the request. Each method a member editor may call has a rule
//! here; a method without one is refused. Whatever fails (another
//! organisation's record, a record that does not exist, a service that cannot
//! say) is the same PERMISSION_DENIED, so a denial never reveals whether a
//! record exists.

use bytes::{Buf, Bytes};
use initiatives::initiatives_service_client::InitiativesServiceClient;
use innolab_kit::balance::Channel;
use innolab_proto::innolab::initiatives::v1 as initiatives;
use innolab_proto::innolab::membership::v1 as membership;
use membership::membership_service_client::MembershipServiceClient;
use prost_reflect::{DynamicMessage, Value};
use tonic::Status;

/// The least time an ownership denial takes: above what reading a stored
/// record takes (a few milliseconds), so that "not yours" and "does not
/// exist" take the same time.
pub const DENIAL_FLOOR: std::time::Duration = std::time::Duration::from_millis(25);

/// How a method's target is tied to an organisation.
#[derive(Debug, Clone, Copy)]
enum Rule {
    /// A field of the request names the organisation.
    Field(&'static str),
    /// A field names an initiative, whose stored lead must be the organisation.
    StoredInitiative(&'static str),
    /// A field names a person, whose stored organisation must be the organisation.
    StoredPerson(&'static str),
    /// A field, when set, must name the organisation (a changed owner).
    FieldIfSet(&'static str),
    /// A field names an adoption; the organisation must lead the stored
    /// initiatives of the sides named.
    Adoption(&'static str, Sides),
}

/// Which sides of an adoption a call speaks for.
#[derive(Debug, Clone, Copy)]
enum Sides {
    /// The adopter (`initiative`).
    Adopter,
    /// The side the request's enum field names (`AdoptionSide`: SOURCE,
    /// ADOPTER or BOTH).
    Named(&'static str),
    /// Either side will do.
    Either,
}

/// The rules of each method a member editor may call; all must hold.
fn rules(method: &str) -> Option<&'static [Rule]> {
    use Rule::*;
    Some(match method {
        "innolab.membership.v1.MembershipService/UpdateOrganization" => {
            &[Field("organization.name")]
        }
        "innolab.membership.v1.MembershipService/CreatePerson" => &[Field("person.organization")],
        "innolab.membership.v1.MembershipService/UpdatePerson" => &[
            StoredPerson("person.name"),
            FieldIfSet("person.organization"),
        ],
        "innolab.initiatives.v1.InitiativesService/CreateInitiative" => {
            &[Field("initiative.lead_organization")]
        }
        "innolab.initiatives.v1.InitiativesService/UpdateInitiative" => &[
            StoredInitiative("initiative.name"),
            FieldIfSet("initiative.lead_organization"),
        ],
        "innolab.initiatives.v1.InitiativesService/MoveInitiativeStage"
        | "innolab.initiatives.v1.InitiativesService/ChangeInitiativeStatus" => {
            &[StoredInitiative("name")]
        }
        "innolab.initiatives.v1.InitiativesService/CreateSubmission" => {
            &[Field("submission.initiative.lead_organization")]
        }
        // An adoption is recorded by the adopter's side; each side confirms
        // its own; either side may withdraw (the source's withdrawal is its
        // rejection).
        "innolab.initiatives.v1.InitiativesService/CreateAdoption" => {
            &[StoredInitiative("adoption.initiative")]
        }
        "innolab.initiatives.v1.InitiativesService/UpdateAdoption" => {
            &[Adoption("adoption.name", Sides::Adopter)]
        }
        "innolab.initiatives.v1.InitiativesService/ConfirmAdoption" => {
            &[Adoption("name", Sides::Named("side"))]
        }
        "innolab.initiatives.v1.InitiativesService/WithdrawAdoption" => {
            &[Adoption("name", Sides::Either)]
        }
        _ => return None,
    })
}

/// Reads stored records to decide ownership.
#[derive(Debug, Clone, Default)]
pub struct Owners {
    membership: Option<MembershipServiceClient<Channel>>,
    initiatives: Option<InitiativesServiceClient<Channel>>,
}

/// The string at a dotted field path, empty when unset.
fn string_at(message: &DynamicMessage, path: &str) -> String {
    let mut current = message.clone();
    let mut parts = path.split('.').peekable();
    while let Some(part) = parts.next() {
        let Some(value) = current.get_field_by_name(part) else {
            return String::new();
        };
        match (value.as_ref(), parts.peek()) {
            (Value::String(s), None) => return s.clone(),
            (Value::Message(m), Some(_)) => current = m.clone(),
            _ => return String::new(),
        }
    }
    String::new()
}

/// The request message of a unary call: a single uncompressed gRPC frame
/// (every protocol is gRPC once past the edge).
pub fn decode(method: &str, body: &Bytes) -> Result<DynamicMessage, Status> {
    let descriptor = crate::json::method(&format!("/{method}"))?.input();
    let mut frame = body.clone();
    if frame.remaining() < 5 {
        return Err(Status::invalid_argument("request: not a gRPC message"));
    }
    let compressed = frame.get_u8();
    let length = frame.get_u32() as usize;
    if compressed != 0 {
        return Err(Status::unimplemented(
            "compressed requests are not accepted from member editors",
        ));
    }
    if frame.remaining() != length {
        return Err(Status::invalid_argument(
            "request: a unary call carries exactly one message",
        ));
    }
    DynamicMessage::decode(descriptor, frame)
        .map_err(|e| Status::invalid_argument(format!("request: {e}")))
}

impl Owners {
    /// Reads through these channels.
    pub fn new(membership: Option<Channel>, initiatives: Option<Channel>) -> Self {
        Owners {
            membership: membership.map(MembershipServiceClient::new),
            initiatives: initiatives.map(InitiativesServiceClient::new),
        }
    }

    /// PERMISSION_DENIED unless every rule of `method` ties `request` to
    /// `organization`. A denial is answered no sooner than [`DENIAL_FLOOR`]
    /// after the check began, so that its timing does not tell whether the
    /// record exists (reading another organisation's record takes longer
    /// than finding none).
    pub async fn check(
        &self,
        method: &str,
        request: &DynamicMessage,
        organization: Option<&str>,
    ) -> Result<(), Status> {
        let started = tokio::time::Instant::now();
        let outcome = self.decide(method, request, organization).await;
        if outcome.is_err() {
            tokio::time::sleep_until(started + DENIAL_FLOOR).await;
        }
        outcome
    }

    async fn decide(
        &self,
        method: &str,
        request: &DynamicMessage,
        organization: Option<&str>,
    ) -> Result<(), Status> {
        let denied = |why: &str| {
            Status::permission_denied(format!(
                "a member editor may call {method} only for records of its own organisation{why}"
            ))
        };
        let Some(organization) = organization else {
            return Err(denied(""));
        };
        let Some(rules) = rules(method) else {
            return Err(denied(" (this method has no ownership rule)"));
        };
        for rule in rules {
            let owner = match *rule {
                Rule::Field(path) => string_at(request, path),
                Rule::FieldIfSet(path) => {
                    let value = string_at(request, path);
                    if value.is_empty() {
                        continue;
                    }
                    value
                }
                Rule::StoredInitiative(path) => {
                    let Some(lead) = self.lead(string_at(request, path)).await else {
                        return Err(denied(""));
                    };
                    lead
                }
                Rule::Adoption(path, sides) => {
                    if self
                        .leads_adoption_side(string_at(request, path), sides, request, organization)
                        .await
                    {
                        continue;
                    }
                    return Err(denied(""));
                }
                Rule::StoredPerson(path) => {
                    let name = string_at(request, path);
                    let Some(client) = &self.membership else {
                        return Err(denied(""));
                    };
                    match client
                        .clone()
                        .get_person(membership::GetPersonRequest { name })
                        .await
                    {
                        Ok(r) => r.into_inner().organization,
                        Err(_) => return Err(denied("")),
                    }
                }
            };
            if owner != organization {
                return Err(denied(""));
            }
        }
        Ok(())
    }
}

impl Owners {
    /// The stored lead organisation of initiative `name`, if it can be read.
    async fn lead(&self, name: String) -> Option<String> {
        let client = self.initiatives.as_ref()?;
        client
            .clone()
            .get_initiative(initiatives::GetInitiativeRequest { name })
            .await
            .ok()
            .map(|r| r.into_inner().lead_organization)
    }

    /// Whether `organization` leads the initiatives of the `sides` of the
    /// stored adoption `name` (all of them, or one for `Either`).
    async fn leads_adoption_side(
        &self,
        name: String,
        sides: Sides,
        request: &DynamicMessage,
        organization: &str,
    ) -> bool {
        let Some(client) = &self.initiatives else {
            return false;
        };
        let Ok(adoption) = client
            .clone()
            .get_adoption(initiatives::GetAdoptionRequest { name })
            .await
            .map(tonic::Response::into_inner)
        else {
            return false;
        };
        let (adopter, source) = (adoption.initiative, adoption.source);
        let (names, any) = match sides {
            Sides::Adopter => (vec![adopter], false),
            Sides::Either => (vec![adopter, source], true),
            Sides::Named(field) => {
                let side = match request.get_field_by_name(field).as_deref() {
                    Some(Value::EnumNumber(n)) => initiatives::AdoptionSide::try_from(*n).ok(),
                    _ => None,
                };
                match side {
                    Some(initiatives::AdoptionSide::Source) => (vec![source], false),
                    Some(initiatives::AdoptionSide::Adopter) => (vec![adopter], false),
                    Some(initiatives::AdoptionSide::Both) => (vec![source, adopter], false),
                    _ => return false,
                }
            }
        };
        let mut led = 0;
        for name in &names {
            if self.lead(name.clone()).await.as_deref() == Some(organization) {
                led += 1;
            }
        }
        if any { led > 0 } else { led == names.len() }
    }
}

/// Every method with an ownership rule (for tests and docs).
pub fn ruled_methods() -> Vec<&'static str> {
    [
        "innolab.membership.v1.MembershipService/UpdateOrganization",
        "innolab.membership.v1.MembershipService/CreatePerson",
        "innolab.membership.v1.MembershipService/UpdatePerson",
        "innolab.initiatives.v1.InitiativesService/CreateInitiative",
        "innolab.initiatives.v1.InitiativesService/UpdateInitiative",
        "innolab.initiatives.v1.InitiativesService/MoveInitiativeStage",
        "innolab.initiatives.v1.InitiativesService/ChangeInitiativeStatus",
        "innolab.initiatives.v1.InitiativesService/CreateSubmission",
        "innolab.initiatives.v1.InitiativesService/CreateAdoption",
        "innolab.initiatives.v1.InitiativesService/UpdateAdoption",
        "innolab.initiatives.v1.InitiativesService/ConfirmAdoption",
        "innolab.initiatives.v1.InitiativesService/WithdrawAdoption",
    ]
    .into_iter()
    .filter(|m| rules(m).is_some())
    .collect()
}
