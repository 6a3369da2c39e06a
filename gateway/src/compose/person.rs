//! The data-subject access export: the person's record and every record of
//! every service that names them. Unlike the other compositions every part
//! is required: an export missing a part would tell the person less than
//! the suite holds.

use innolab_proto::innolab::common::v1::{FindPersonReferencesRequest, PersonReference};

use super::*;

/// The largest answer of one service's FindPersonReferences the gateway
/// reads (a person named in an import of many records has many).
const REFERENCES_LIMIT: usize = 256 * 1024 * 1024;

impl Compose {
    /// The person `name` (`people/{id}`) and every record naming them, by
    /// service (membership, initiatives, impact), each oldest first.
    pub async fn person_data(
        &self,
        ctx: &CallContext,
        name: &str,
    ) -> Result<(membership::Person, Vec<PersonReference>), Status> {
        check_name(name, "people")?;
        let find = || FindPersonReferencesRequest {
            person: name.to_string(),
        };
        let (person, named_in_membership, named_in_initiatives, named_in_impact) = tokio::join!(
            async {
                Ok(self
                    .membership()?
                    .get_person(ctx.call(membership::GetPersonRequest {
                        name: name.to_string(),
                    }))
                    .await
                    .map_err(failed("membership"))?
                    .into_inner())
            },
            async {
                Ok(self
                    .membership()?
                    .max_decoding_message_size(REFERENCES_LIMIT)
                    .find_person_references(ctx.call(find()))
                    .await
                    .map_err(failed("membership"))?
                    .into_inner()
                    .references)
            },
            async {
                Ok(self
                    .initiatives()?
                    .max_decoding_message_size(REFERENCES_LIMIT)
                    .find_person_references(ctx.call(find()))
                    .await
                    .map_err(failed("initiatives"))?
                    .into_inner()
                    .references)
            },
            async {
                Ok(self
                    .impact()?
                    .max_decoding_message_size(REFERENCES_LIMIT)
                    .find_person_references(ctx.call(find()))
                    .await
                    .map_err(failed("impact"))?
                    .into_inner()
                    .references)
            },
        );
        let person: Part<membership::Person> = person;
        let person = person.map_err(required)?;
        let mut references: Vec<PersonReference> = Vec::new();
        for part in [named_in_membership, named_in_initiatives, named_in_impact] {
            let part: Part<Vec<PersonReference>> = part;
            references.extend(part.map_err(required)?);
        }
        Ok((person, references))
    }
}
