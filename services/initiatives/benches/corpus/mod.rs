//! The generated library of the initiatives benchmarks: initiative `n` of
//! any size of library, the same every run.

#![allow(dead_code)]

use innolab_proto::innolab::initiatives::v1 as pb;
use innolab_proto::innolab::membership::v1 as mpb;

/// Countries of the lead organisations, in turn.
pub const COUNTRIES: &[&str] = &["RO", "FI", "SE", "DK", "NO", "EE", "PT", "FR", "DE", "IT"];

/// The words of titles and summaries (Romanian, Swedish, English).
pub const WORDS: &[&str] = &[
    "digital",
    "ghișeul",
    "cetățeni",
    "registru",
    "servicii",
    "kommun",
    "öppna",
    "data",
    "health",
    "school",
    "permits",
    "mobility",
    "energy",
    "climate",
    "youth",
    "archive",
];

/// A well-mixed number in `0..m` for row `n` and field `salt` (splitmix64),
/// so that fields are independent of each other.
pub fn mix(n: usize, salt: u64, m: usize) -> usize {
    let mut z = (n as u64).wrapping_add(salt.wrapping_mul(0x9E37_79B9_7F4A_7C15));
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^= z >> 31;
    (z % m as u64) as usize
}

/// Initiative `n`, led by one of `orgs` with another as partner.
pub fn row(n: usize, orgs: &[String]) -> pb::Initiative {
    let w = |k: u64| WORDS[mix(n, 100 + k, WORDS.len())];
    pb::Initiative {
        titles: vec![
            pb::LocalizedText {
                language_code: "ro".into(),
                text: format!("{} {} {n}", w(1), w(3)),
            },
            pb::LocalizedText {
                language_code: "en".into(),
                text: format!("{} {} initiative {n}", w(5), w(7)),
            },
        ],
        summaries: vec![pb::LocalizedText {
            language_code: "en".into(),
            text: format!("A {} {} {} project.", w(2), w(11), w(13)),
        }],
        localized_problem: vec![pb::LocalizedText {
            language_code: "en".into(),
            text: "Citizens wait too long for a routine service.".into(),
        }],
        lead_organization: orgs[mix(n, 1, orgs.len())].clone(),
        partners: vec![pb::Partner {
            organization: orgs[mix(n, 2, orgs.len())].clone(),
            role: (mix(n, 3, 4) + 1) as i32,
        }],
        country_code: COUNTRIES[mix(n, 4, COUNTRIES.len())].into(),
        government_level: (mix(n, 5, 6) + 1) as i32,
        sector: (mix(n, 6, 10) + 1) as i32,
        tags: vec![format!("tag-{}", mix(n, 7, 50))],
        sdgs: vec![(mix(n, 8, 17) + 1) as i32, (mix(n, 9, 17) + 1) as i32],
        principles: vec![(mix(n, 10, 5) + 1) as i32],
        facet: (mix(n, 11, 4) + 1) as i32,
        stage: (mix(n, 12, 6) + 1) as i32,
        status: (mix(n, 13, 6) + 1) as i32,
        ..Default::default()
    }
}

/// Organisation `i` of the library (the benchmarks make 20).
pub fn organization(i: usize) -> mpb::CreateOrganizationRequest {
    mpb::CreateOrganizationRequest {
        organization: Some(mpb::Organization {
            display_names: vec![mpb::LocalizedText {
                language_code: "en".into(),
                text: format!("Organisation {i}"),
            }],
            kind: mpb::OrganizationKind::Government as i32,
            country_code: COUNTRIES[i % COUNTRIES.len()].into(),
            ..Default::default()
        }),
        request_id: String::new(),
    }
}

/// The names of the first 500 initiatives, in id order (what queries by
/// initiative pick from).
pub async fn first_initiatives(
    mut client: pb::initiatives_service_client::InitiativesServiceClient<tonic::transport::Channel>,
) -> Vec<String> {
    client
        .list_initiatives(pb::ListInitiativesRequest {
            page_size: 500,
            ..Default::default()
        })
        .await
        .expect("ListInitiatives")
        .into_inner()
        .initiatives
        .into_iter()
        .map(|i| i.name)
        .collect()
}
