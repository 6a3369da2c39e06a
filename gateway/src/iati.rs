//! The case library as IATI activity XML 2.03 (`innolab-gateway
//! export-iati`): one `iati-activity` per initiative, where the fields map,
//! with the results and indicators of its completed impact assessments. It
//! needs two services, so the gateway, which knows their contracts, writes
//! it from their public calls: the network's organisations (names, IATI
//! identifiers, kinds) and the completed assessments with their indicators
//! are read first (they are small next to the library); the initiatives are
//! then streamed (ExportInitiatives, one snapshot) and written one at a
//! time.
//!
//! The mapping: lead organisation as accountable (role 2), partners with
//! their IATI roles (1-4), organisation kinds as IATI organisation types;
//! status as activity status; start and end days as activity dates (planned
//! until the initiative runs, actual after); the country as recipient
//! country; the COFOG division as sector (vocabulary 3); SDGs as tags
//! (vocabulary 2); each assessment's indicators grouped by result type into
//! results, each indicator with its baseline, a period to its target, and a
//! period per measurement with its actual value. IATI requires a
//! description and an activity date, so an initiative without a summary (or
//! problem) or without a start day is left out and counted. No generation
//! time is written: the same data gives the same bytes.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::Path;

use innolab_kit::balance::Channel;
use innolab_kit::opendata::{self, Release};
use innolab_proto::google::r#type::Date;
use innolab_proto::innolab::impact::v1 as impact;
use innolab_proto::innolab::initiatives::v1 as initiatives;
use innolab_proto::innolab::membership::v1 as membership;
use quick_xml::Writer;
use quick_xml::events::{BytesDecl, BytesStart, BytesText, Event};
use tokio_stream::StreamExt as _;

use impact::impact_service_client::ImpactServiceClient;
use initiatives::initiatives_service_client::InitiativesServiceClient;
use membership::membership_service_client::MembershipServiceClient;

/// The file written, in the release folder.
pub const FILE: &str = "iati-activities.xml";

/// Who reports the activities (IATI `reporting-org`).
#[derive(Debug, Clone, clap::Args)]
pub struct Reporter {
    /// The reporting organisation's IATI identifier (e.g. `RO-CUI-4221187`);
    /// activity identifiers are `<it>-<initiative id>`.
    #[arg(long, env = "INNOLAB_IATI_REPORTING_ORG_REF")]
    pub reporting_org_ref: String,
    /// Its IATI organisation type code (10 = government).
    #[arg(long, env = "INNOLAB_IATI_REPORTING_ORG_TYPE", default_value = "10")]
    pub reporting_org_type: String,
    /// Its name.
    #[arg(
        long,
        env = "INNOLAB_OPEN_DATA_PUBLISHER_NAME",
        default_value = "innolab"
    )]
    pub reporting_org_name: String,
}

/// What an export wrote.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Counts {
    /// Activities written.
    pub activities: usize,
    /// Initiatives left out (no summary or no start day).
    pub skipped: usize,
    /// Results written (one per assessment and result type).
    pub results: usize,
}

/// An organisation as IATI names it.
#[derive(Debug, Clone)]
struct Org {
    /// Its IATI identifier, when the network knows it.
    iati_ref: Option<String>,
    /// IATI organisation type code.
    kind: Option<&'static str>,
    /// Names per language.
    names: Vec<(String, String)>,
}

/// A completed assessment and its indicators.
type Assessed = (impact::Assessment, Vec<impact::Indicator>);

fn status(e: tonic::Status) -> anyhow::Error {
    anyhow::anyhow!("{}: {}", e.code(), e.message())
}

/// IATI OrganisationType of a network organisation's kind.
fn org_type(kind: i32) -> Option<&'static str> {
    use membership::OrganizationKind as K;
    Some(match K::try_from(kind).ok()? {
        K::Government => "10",
        K::LocalGovernment => "11",
        K::OtherPublicSector => "15",
        K::InternationalNgo => "21",
        K::NationalNgo => "22",
        K::RegionalNgo => "23",
        K::PublicPrivatePartnership => "30",
        K::Multilateral => "40",
        K::Foundation => "60",
        K::PrivateSector => "70",
        K::AcademicTrainingResearch => "80",
        K::Other => "90",
        K::Unspecified => return None,
    })
}

/// Every organisation of the network, by name (ExportOrganizations: one
/// snapshot).
async fn organisations(
    mut client: MembershipServiceClient<Channel>,
) -> anyhow::Result<BTreeMap<String, Org>> {
    let mut found = BTreeMap::new();
    let mut stream = client
        .export_organizations(membership::ExportOrganizationsRequest {})
        .await
        .map_err(status)?
        .into_inner();
    while let Some(item) = stream.next().await {
        let Some(o) = item.map_err(status)?.organization else {
            continue;
        };
        let iati_ref = o
            .identifiers
            .iter()
            .find(|i| i.scheme == "IATI")
            .map(|i| i.value.clone());
        let names = o
            .display_names
            .iter()
            .map(|t| (t.language_code.clone(), t.text.clone()))
            .collect();
        found.insert(
            o.name,
            Org {
                iati_ref,
                kind: org_type(o.kind),
                names,
            },
        );
    }
    Ok(found)
}

/// Every completed assessment with its indicators, by initiative, in
/// assessment order (ExportAssessments, then ExportIndicators: a snapshot
/// each; an indicator of an assessment completed between the two is left
/// for the next export).
async fn results(
    mut client: ImpactServiceClient<Channel>,
) -> anyhow::Result<BTreeMap<String, Vec<Assessed>>> {
    let mut assessments: Vec<Assessed> = Vec::new();
    let mut stream = client
        .export_assessments(impact::ExportAssessmentsRequest {})
        .await
        .map_err(status)?
        .into_inner();
    while let Some(item) = stream.next().await {
        if let Some(a) = item.map_err(status)?.assessment {
            assessments.push((a, Vec::new()));
        }
    }
    let position: BTreeMap<String, usize> = assessments
        .iter()
        .enumerate()
        .map(|(n, (a, _))| (a.name.clone(), n))
        .collect();
    let mut stream = client
        .export_indicators(impact::ExportIndicatorsRequest {})
        .await
        .map_err(status)?
        .into_inner();
    while let Some(item) = stream.next().await {
        let Some(i) = item.map_err(status)?.indicator else {
            continue;
        };
        let parent = i.name.split("/indicators/").next().unwrap_or_default();
        if let Some(&n) = position.get(parent) {
            assessments[n].1.push(i);
        }
    }
    let mut found: BTreeMap<String, Vec<Assessed>> = BTreeMap::new();
    for (a, indicators) in assessments {
        found
            .entry(a.initiative.clone())
            .or_default()
            .push((a, indicators));
    }
    Ok(found)
}

/// The file's DCAT-AP dataset record, beside it.
pub const RECORD: &str = "iati-activities.dcat.jsonld";

/// Writes `iati-activities.xml` into `dir`: the initiatives matching
/// `filter`, as the three services answer now; then its DCAT-AP record, as
/// `release` publishes it, and the folder's catalogue again.
pub async fn write(
    membership: Channel,
    initiatives: Channel,
    impact: Channel,
    filter: &str,
    reporter: &Reporter,
    (dir, release): (&Path, &Release),
) -> anyhow::Result<Counts> {
    let orgs = organisations(MembershipServiceClient::new(membership)).await?;
    let results = results(ImpactServiceClient::new(impact)).await?;
    let mut stream = InitiativesServiceClient::new(initiatives)
        .export_initiatives(initiatives::ExportInitiativesRequest {
            filter: filter.to_string(),
        })
        .await
        .map_err(status)?
        .into_inner();
    std::fs::create_dir_all(dir)?;
    // Written beside, then renamed: a failed export leaves no half file.
    let partial = dir.join(format!("{FILE}.partial"));
    let mut counts = Counts::default();
    let mut seen = Seen::default();
    // quick-xml's element scopes are synchronous and the initiatives arrive
    // from a stream: the root is opened and closed around the loop.
    let mut xml = Writer::new_with_indent(
        std::io::BufWriter::new(std::fs::File::create(&partial)?),
        b' ',
        2,
    );
    xml.write_event(Event::Decl(BytesDecl::new("1.0", Some("UTF-8"), None)))?;
    let mut root = BytesStart::new("iati-activities");
    root.push_attribute(("version", "2.03"));
    xml.write_event(Event::Start(root.borrow()))?;
    while let Some(item) = stream.next().await {
        let Some(initiative) = item.map_err(status)?.initiative else {
            continue;
        };
        let assessed = results
            .get(&initiative.name)
            .map(Vec::as_slice)
            .unwrap_or_default();
        match activity(&mut xml, &initiative, assessed, &orgs, reporter)? {
            Some(written) => {
                counts.activities += 1;
                counts.results += written;
                seen.add(&initiative);
            }
            None => counts.skipped += 1,
        }
    }
    xml.write_event(Event::End(root.to_end()))?;
    let mut file = xml.into_inner();
    file.write_all(b"\n")?;
    file.flush()?;
    drop(file);
    if counts.activities == 0 {
        // IATI requires at least one activity in a file.
        std::fs::remove_file(&partial)?;
    } else {
        std::fs::rename(&partial, dir.join(FILE))?;
        let file = opendata::File::read(dir, FILE, "application/xml")?;
        let mut record = opendata::dataset(release, &seen.dataset(counts.activities), &[file]);
        // Read from three services' streams: no one change-log sequence.
        record["owl:versionInfo"] = "IATI activity standard 2.03".into();
        opendata::write_json(&dir.join(RECORD), &record)?;
        opendata::write_catalogue(dir, release)?;
    }
    Ok(counts)
}

/// What the written activities cover, for the dataset record.
#[derive(Debug, Default)]
struct Seen {
    /// The newest update, in microseconds.
    modified: Option<i64>,
    /// The first start day and the last end (or start) day, YYYY-MM-DD.
    first: Option<String>,
    last: Option<String>,
}

impl Seen {
    fn add(&mut self, i: &initiatives::Initiative) {
        if let Some(t) = &i.update_time {
            let micros = t.seconds * 1_000_000 + i64::from(t.nanos / 1000);
            self.modified = self.modified.max(Some(micros));
        }
        let start = i.start_date.as_ref().map(iso);
        let end = i.end_date.as_ref().map(iso).or_else(|| start.clone());
        if let Some(start) = start
            && self.first.as_ref().is_none_or(|f| start < *f)
        {
            self.first = Some(start);
        }
        if let Some(end) = end
            && self.last.as_ref().is_none_or(|l| end > *l)
        {
            self.last = Some(end);
        }
    }

    fn dataset(&self, records: usize) -> opendata::Dataset<'static> {
        opendata::Dataset {
            id: "iati-activities",
            titles: &[
                ("en", "Innovation initiatives as IATI activities"),
                ("ro", "Inițiative de inovare ca activități IATI"),
            ],
            descriptions: &[(
                "en",
                "The case library as IATI activity XML 2.03: each initiative with a summary and \
                 a start day, its organisations in their IATI roles, COFOG sector, SDG tags, \
                 and the results and indicators of its completed impact assessments.",
            )],
            columns: &[],
            modified: self.modified.map(opendata::rfc3339),
            temporal: (self.first.clone(), self.last.clone()),
            sequence: 0,
            records,
        }
    }
}

type Xml = Writer<std::io::BufWriter<std::fs::File>>;

fn iso(d: &Date) -> String {
    format!("{:04}-{:02}-{:02}", d.year, d.month, d.day)
}

fn day(d: Option<&Date>) -> Option<&Date> {
    d.filter(|d| d.year > 0 && d.month > 0 && d.day > 0)
}

/// One `<narrative xml:lang>` per (language, text); without a language,
/// the activity's.
fn write_narratives(xml: &mut Xml, texts: &[(String, String)]) -> std::io::Result<()> {
    for (language, text) in texts {
        let mut n = xml.create_element("narrative");
        if !language.is_empty() {
            n = n.with_attribute(("xml:lang", language.as_str()));
        }
        n.write_text_content(BytesText::new(text))?;
    }
    Ok(())
}

/// `<name>` holding the narratives of `texts`.
fn narratives(xml: &mut Xml, name: &str, texts: &[(String, String)]) -> std::io::Result<()> {
    xml.create_element(name)
        .write_inner_content(|xml| write_narratives(xml, texts))?;
    Ok(())
}

fn texts(list: &[innolab_proto::innolab::common::v1::LocalizedText]) -> Vec<(String, String)> {
    list.iter()
        .filter(|t| !t.text.is_empty())
        .map(|t| (t.language_code.clone(), t.text.clone()))
        .collect()
}

/// IATI ActivityStatus of an initiative's status, and whether it has begun
/// (its dates are then actual, not planned) and ended.
fn activity_status(s: i32) -> (&'static str, bool, bool) {
    use initiatives::InitiativeStatus as S;
    match S::try_from(s).unwrap_or(S::Unspecified) {
        S::InDevelopment | S::Unspecified => ("1", false, false),
        S::Pilot | S::Implemented => ("2", true, false),
        S::Paused => ("6", true, false),
        S::Discontinued => ("5", true, true),
        S::NotInUseAnymore => ("4", true, true),
    }
}

/// Writes one activity, or nothing when IATI's required fields are
/// missing; says how many results it holds.
fn activity(
    xml: &mut Xml,
    i: &initiatives::Initiative,
    assessed: &[Assessed],
    orgs: &BTreeMap<String, Org>,
    reporter: &Reporter,
) -> std::io::Result<Option<usize>> {
    let titles = texts(&i.titles);
    let mut description = texts(&i.summaries);
    if description.is_empty() {
        description = texts(&i.localized_problem);
    }
    let Some(start) = day(i.start_date.as_ref()) else {
        return Ok(None);
    };
    if titles.is_empty() || description.is_empty() {
        return Ok(None);
    }
    let id = i.name.trim_start_matches("initiatives/");
    let (status_code, begun, ended) = activity_status(i.status);
    let mut element = xml
        .create_element("iati-activity")
        .with_attribute(("xml:lang", titles[0].0.as_str()));
    let updated = i.update_time.as_ref().and_then(|t| {
        time::OffsetDateTime::from_unix_timestamp(t.seconds)
            .ok()
            .and_then(|t| {
                t.format(&time::format_description::well_known::Rfc3339)
                    .ok()
            })
    });
    if let Some(updated) = &updated {
        element = element.with_attribute(("last-updated-datetime", updated.as_str()));
    }
    let mut results = 0;
    element.write_inner_content(|xml| {
        xml.create_element("iati-identifier")
            .write_text_content(BytesText::new(&format!(
                "{}-{id}",
                reporter.reporting_org_ref
            )))?;
        xml.create_element("reporting-org")
            .with_attribute(("ref", reporter.reporting_org_ref.as_str()))
            .with_attribute(("type", reporter.reporting_org_type.as_str()))
            .write_inner_content(|xml| {
                xml.create_element("narrative")
                    .write_text_content(BytesText::new(&reporter.reporting_org_name))?;
                Ok(())
            })?;
        narratives(xml, "title", &titles)?;
        xml.create_element("description")
            .with_attribute(("type", "1"))
            .write_inner_content(|xml| write_narratives(xml, &description))?;
        participating(xml, &i.lead_organization, "2", orgs)?;
        for p in &i.partners {
            let role = match initiatives::PartnerRole::try_from(p.role) {
                Ok(initiatives::PartnerRole::Funding) => "1",
                Ok(initiatives::PartnerRole::Accountable) => "2",
                Ok(initiatives::PartnerRole::Extending) => "3",
                _ => "4",
            };
            participating(xml, &p.organization, role, orgs)?;
        }
        xml.create_element("activity-status")
            .with_attribute(("code", status_code))
            .write_empty()?;
        xml.create_element("activity-date")
            .with_attribute(("type", if begun { "2" } else { "1" }))
            .with_attribute(("iso-date", iso(start).as_str()))
            .write_empty()?;
        if let Some(end) = day(i.end_date.as_ref()) {
            xml.create_element("activity-date")
                .with_attribute(("type", if ended { "4" } else { "3" }))
                .with_attribute(("iso-date", iso(end).as_str()))
                .write_empty()?;
        }
        if !i.country_code.is_empty() {
            xml.create_element("recipient-country")
                .with_attribute(("code", i.country_code.as_str()))
                .write_empty()?;
        }
        if (1..=10).contains(&i.sector) {
            // COFOG divisions 01-10: the GovernmentFunction numbers.
            xml.create_element("sector")
                .with_attribute(("vocabulary", "3"))
                .with_attribute(("code", format!("{:02}", i.sector).as_str()))
                .write_empty()?;
        }
        for sdg in &i.sdgs {
            xml.create_element("tag")
                .with_attribute(("vocabulary", "2"))
                .with_attribute(("code", sdg.to_string().as_str()))
                .write_empty()?;
        }
        for (assessment, indicators) in assessed {
            results += result_elements(xml, assessment, indicators)?;
        }
        Ok(())
    })?;
    Ok(Some(results))
}

fn participating(
    xml: &mut Xml,
    organisation: &str,
    role: &str,
    orgs: &BTreeMap<String, Org>,
) -> std::io::Result<()> {
    let org = orgs.get(organisation);
    let mut element = xml
        .create_element("participating-org")
        .with_attribute(("role", role));
    if let Some(iati_ref) = org.and_then(|o| o.iati_ref.as_deref()) {
        element = element.with_attribute(("ref", iati_ref));
    }
    if let Some(kind) = org.and_then(|o| o.kind) {
        element = element.with_attribute(("type", kind));
    }
    let names: Vec<(String, String)> = match org {
        Some(o) if !o.names.is_empty() => o.names.clone(),
        // Not in the network (or no longer): its resource name says which.
        _ => vec![(String::new(), organisation.to_string())],
    };
    element.write_inner_content(|xml| write_narratives(xml, &names))?;
    Ok(())
}

/// A value as IATI writes it (a decimal string).
fn value(v: f64) -> String {
    format!("{v}")
}

/// One `result` per result type among `indicators`; how many.
fn result_elements(
    xml: &mut Xml,
    assessment: &impact::Assessment,
    indicators: &[impact::Indicator],
) -> std::io::Result<usize> {
    let mut written = 0;
    for (result_type, code) in [
        (impact::ResultType::Output, "1"),
        (impact::ResultType::Outcome, "2"),
        (impact::ResultType::Impact, "3"),
    ] {
        let of_type: Vec<&impact::Indicator> = indicators
            .iter()
            .filter(|i| i.result_type == result_type as i32)
            .collect();
        if of_type.is_empty() {
            continue;
        }
        written += 1;
        xml.create_element("result")
            .with_attribute(("type", code))
            .write_inner_content(|xml| {
                narratives(xml, "title", &[(String::new(), assessment.title.clone())])?;
                for indicator in of_type {
                    indicator_element(xml, indicator)?;
                }
                Ok(())
            })?;
    }
    Ok(written)
}

fn indicator_element(xml: &mut Xml, i: &impact::Indicator) -> std::io::Result<()> {
    let ascending = i.direction != impact::Direction::LowerIsBetter as i32;
    xml.create_element("indicator")
        .with_attribute(("measure", "1"))
        .with_attribute(("ascending", if ascending { "1" } else { "0" }))
        .write_inner_content(|xml| {
            narratives(xml, "title", &[(String::new(), i.title.clone())])?;
            if !i.measure.is_empty() {
                narratives(
                    xml,
                    "description",
                    &[(String::new(), format!("Measured in {}.", i.measure))],
                )?;
            }
            let baseline = i
                .baseline
                .as_ref()
                .and_then(|b| day(b.date.as_ref()).map(|d| (d, b.value)));
            if let Some((d, v)) = baseline {
                xml.create_element("baseline")
                    .with_attribute(("year", d.year.to_string().as_str()))
                    .with_attribute(("iso-date", iso(d).as_str()))
                    .with_attribute(("value", value(v).as_str()))
                    .write_empty()?;
            }
            let target = i
                .target
                .as_ref()
                .and_then(|t| day(t.date.as_ref()).map(|d| (d, t.value)));
            if let (Some((from, _)), Some((to, v))) = (baseline, target) {
                period(xml, from, to, "target", v)?;
            }
            let mut from = baseline.map(|(d, _)| d);
            for m in &i.measurements {
                let Some(to) = day(m.date.as_ref()) else {
                    continue;
                };
                period(xml, from.unwrap_or(to), to, "actual", m.value)?;
                from = Some(to);
            }
            Ok(())
        })?;
    Ok(())
}

/// A `period` from `from` to `to` holding one `target` or `actual` value.
fn period(xml: &mut Xml, from: &Date, to: &Date, kind: &str, v: f64) -> std::io::Result<()> {
    xml.create_element("period").write_inner_content(|xml| {
        xml.create_element("period-start")
            .with_attribute(("iso-date", iso(from).as_str()))
            .write_empty()?;
        xml.create_element("period-end")
            .with_attribute(("iso-date", iso(to).as_str()))
            .write_empty()?;
        xml.create_element(kind)
            .with_attribute(("value", value(v).as_str()))
            .write_empty()?;
        Ok(())
    })?;
    Ok(())
}
