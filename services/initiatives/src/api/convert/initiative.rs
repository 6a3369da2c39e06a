//! Initiatives: the fields a caller writes, the stored record, the update mask.

use innolab_kit::api::{date_in, date_out, mask_paths, timestamp};
use innolab_kit::{Error, Violations};
use innolab_proto::innolab::initiatives::v1 as pb;
use prost_types::FieldMask;

use super::{
    facet_in, facet_out, level_in, level_out, principle_in, principle_out, role_in, role_out,
    sector_in, sector_out, stage_in, stage_out, status_in, status_out,
};
use crate::domain::{
    self, InitiativeFields, LocalizedText, Milestone, NARRATIVES, Partner, Stage, text_in,
};

/// Fields UpdateInitiative may change.
const WRITABLE: &[&str] = &[
    "titles",
    "summaries",
    "problem",
    "objectives",
    "solution",
    "lead_organization",
    "partners",
    "country_code",
    "nuts_code",
    "government_level",
    "sector",
    "start_date",
    "end_date",
    "tags",
    "sdgs",
    "principles",
    "facet",
    "results",
    "lessons_learned",
    "links",
    "recognition",
    "milestones",
    "challenges",
    "localized_problem",
    "localized_objectives",
    "localized_solution",
    "localized_results",
    "localized_lessons_learned",
];

#[allow(deprecated)] // the single narrative texts are still written
fn copy_field(cur: &mut pb::Initiative, new: &pb::Initiative, path: &str) {
    match path {
        "titles" => cur.titles = new.titles.clone(),
        "summaries" => cur.summaries = new.summaries.clone(),
        "problem" => cur.problem = new.problem.clone(),
        "objectives" => cur.objectives = new.objectives.clone(),
        "solution" => cur.solution = new.solution.clone(),
        "lead_organization" => cur.lead_organization = new.lead_organization.clone(),
        "partners" => cur.partners = new.partners.clone(),
        "country_code" => cur.country_code = new.country_code.clone(),
        "nuts_code" => cur.nuts_code = new.nuts_code.clone(),
        "government_level" => cur.government_level = new.government_level,
        "sector" => cur.sector = new.sector,
        "start_date" => cur.start_date = new.start_date,
        "end_date" => cur.end_date = new.end_date,
        "tags" => cur.tags = new.tags.clone(),
        "sdgs" => cur.sdgs = new.sdgs.clone(),
        "principles" => cur.principles = new.principles.clone(),
        "facet" => cur.facet = new.facet,
        "results" => cur.results = new.results.clone(),
        "lessons_learned" => cur.lessons_learned = new.lessons_learned.clone(),
        "links" => cur.links = new.links.clone(),
        "recognition" => cur.recognition = new.recognition.clone(),
        "milestones" => cur.milestones = new.milestones.clone(),
        "localized_problem" => cur.localized_problem = new.localized_problem.clone(),
        "localized_objectives" => cur.localized_objectives = new.localized_objectives.clone(),
        "localized_solution" => cur.localized_solution = new.localized_solution.clone(),
        "localized_results" => cur.localized_results = new.localized_results.clone(),
        "localized_lessons_learned" => {
            cur.localized_lessons_learned = new.localized_lessons_learned.clone()
        }
        _ => cur.challenges = new.challenges.clone(),
    }
}

/// Applies an AIP-134 update of an initiative: copies the masked fields of
/// `new` onto `current`. The mask is required; `*` means every writable
/// field; stage and status are refused (they move by their own methods).
pub(crate) fn merge_initiative(
    mut current: pb::Initiative,
    new: pb::Initiative,
    mask: Option<FieldMask>,
) -> Result<pb::Initiative, Error> {
    const MOVED: &str = "moves only by MoveInitiativeStage or ChangeInitiativeStatus, \
                         so that the move is recorded";
    let paths = mask_paths(mask, WRITABLE, &[("stage", MOVED), ("status", MOVED)])?;
    for path in &paths {
        copy_field(&mut current, &new, path);
    }
    // A deprecated single text not in the mask is only the stored list's
    // echo: drop it, so the list decides (and a new first title does not
    // carry the old language's text over). One in the mask without its
    // list sets the original language's text: that entry is removed here,
    // and `initiative_fields` adds the new text back (none when empty).
    let original = current.titles.first().map(|t| t.language_code.clone());
    for (single, list) in narratives_pb(&mut current) {
        let (list_field, field) = list.0;
        if !paths.iter().any(|p| p == field) {
            single.clear();
        } else if !paths.iter().any(|p| p == list_field)
            && let Some(original) = &original
        {
            list.1
                .retain(|t| !t.language_code.eq_ignore_ascii_case(original));
        }
    }
    Ok(current)
}

type Narrative<'a> = (
    &'a mut String,
    ((&'static str, &'static str), &'a mut Vec<pb::LocalizedText>),
);

/// Each deprecated single text of `i` with its list and their names.
#[allow(deprecated)] // the single narrative texts are still read and written
fn narratives_pb(i: &mut pb::Initiative) -> [Narrative<'_>; 5] {
    let [a, b, c, d, e] = NARRATIVES;
    [
        (&mut i.problem, (a, &mut i.localized_problem)),
        (&mut i.objectives, (b, &mut i.localized_objectives)),
        (&mut i.solution, (c, &mut i.localized_solution)),
        (&mut i.results, (d, &mut i.localized_results)),
        (
            &mut i.lessons_learned,
            (e, &mut i.localized_lessons_learned),
        ),
    ]
}

/// Fields of a new initiative, its starting stage and status, validated.
pub(crate) fn new_initiative(
    i: pb::Initiative,
) -> Result<(InitiativeFields, Stage, domain::Status), Error> {
    let mut v = Violations::new();
    let stage = v.merge(stage_in("stage", i.stage)).flatten();
    let status = v.merge(status_in("status", i.status)).flatten();
    let fields = v.merge(initiative_fields(i));
    v.finish()?;
    let fields = fields.ok_or_else(|| Error::Internal("validated fields missing".into()))?;
    Ok((
        fields,
        stage.unwrap_or(Stage::IdentifyingProblems),
        status.unwrap_or(domain::Status::InDevelopment),
    ))
}

/// The new initiative a request carries in `field` (required), validated:
/// its violations, named within `field`, go to `v`.
pub(crate) fn draft_in(
    v: &mut Violations,
    field: &str,
    initiative: Option<pb::Initiative>,
) -> Option<(InitiativeFields, Stage, domain::Status)> {
    match initiative {
        Some(i) => v.merge(new_initiative(i).map_err(|e| e.within(field))),
        None => {
            v.add(field, "is required");
            None
        }
    }
}

fn texts(list: Vec<pb::LocalizedText>) -> Vec<LocalizedText> {
    list.into_iter()
        .map(|t| LocalizedText {
            language_code: t.language_code,
            text: t.text,
        })
        .collect()
}

fn texts_pb(list: Vec<LocalizedText>) -> Vec<pb::LocalizedText> {
    list.into_iter()
        .map(|t| pb::LocalizedText {
            language_code: t.language_code,
            text: t.text,
        })
        .collect()
}

/// The domain fields of `i`, validated: every wrong field is reported,
/// whether its protobuf value has no meaning or its meaning breaks a rule.
#[allow(deprecated)] // the single narrative texts are still accepted
pub(crate) fn initiative_fields(i: pb::Initiative) -> Result<InitiativeFields, Error> {
    let mut v = Violations::new();
    let government_level = v.merge(level_in("government_level", i.government_level));
    let sector = v.merge(sector_in("sector", i.sector));
    let facet = v.merge(facet_in("facet", i.facet));
    let start_date = v.merge(date_in("start_date", i.start_date));
    let end_date = v.merge(date_in("end_date", i.end_date));
    let mut partners = Vec::new();
    for (n, p) in i.partners.into_iter().enumerate() {
        let role = v
            .merge(role_in(&format!("partners[{n}].role"), p.role))
            .flatten();
        partners.push(Partner {
            organization: p.organization,
            role,
        });
    }
    let mut principles = Vec::new();
    for (n, p) in i.principles.iter().enumerate() {
        let field = format!("principles[{n}]");
        match v.merge(principle_in(&field, *p)) {
            Some(Some(p)) => principles.push(p),
            Some(None) => v.add(field, "must name a principle, not UNSPECIFIED"),
            None => {}
        }
    }
    let mut milestones = Vec::new();
    for (n, m) in i.milestones.into_iter().enumerate() {
        let due_date = v
            .merge(date_in(&format!("milestones[{n}].due_date"), m.due_date))
            .flatten();
        let done_date = v
            .merge(date_in(&format!("milestones[{n}].done_date"), m.done_date))
            .flatten();
        milestones.push(Milestone {
            title: m.title,
            due_date,
            done_date,
        });
    }
    let single = [
        i.problem,
        i.objectives,
        i.solution,
        i.results,
        i.lessons_learned,
    ];
    let mut fields = InitiativeFields {
        titles: texts(i.titles),
        summaries: texts(i.summaries),
        problem: texts(i.localized_problem),
        objectives: texts(i.localized_objectives),
        solution: texts(i.localized_solution),
        lead_organization: i.lead_organization,
        partners,
        country_code: i.country_code,
        nuts_code: i.nuts_code,
        government_level: government_level.flatten(),
        sector: sector.flatten(),
        start_date: start_date.flatten(),
        end_date: end_date.flatten(),
        tags: i.tags,
        sdgs: i.sdgs,
        principles,
        facet: facet.flatten(),
        results: texts(i.localized_results),
        lessons_learned: texts(i.localized_lessons_learned),
        links: i.links,
        recognition: i.recognition,
        milestones,
        challenges: i.challenges,
    };
    fields.apply_single_texts(single, &mut v);
    let validated = v.merge(fields.validate());
    v.finish()?;
    validated.ok_or_else(|| Error::Internal("validated fields missing".into()))
}

#[allow(deprecated)] // the single narrative texts are still answered
pub(crate) fn initiative_pb(i: domain::Initiative) -> pb::Initiative {
    let name = i.name();
    let etag = i.meta.etag();
    let f = i.fields;
    let original = f.original_language().unwrap_or_default();
    let single = |list: &[LocalizedText]| text_in(list, &original).unwrap_or_default().to_string();
    pb::Initiative {
        name,
        titles: texts_pb(f.titles),
        summaries: texts_pb(f.summaries),
        problem: single(&f.problem),
        objectives: single(&f.objectives),
        solution: single(&f.solution),
        results: single(&f.results),
        lessons_learned: single(&f.lessons_learned),
        localized_problem: texts_pb(f.problem),
        localized_objectives: texts_pb(f.objectives),
        localized_solution: texts_pb(f.solution),
        localized_results: texts_pb(f.results),
        localized_lessons_learned: texts_pb(f.lessons_learned),
        lead_organization: f.lead_organization,
        partners: f
            .partners
            .into_iter()
            .map(|p| pb::Partner {
                organization: p.organization,
                role: role_out(p.role),
            })
            .collect(),
        country_code: f.country_code,
        nuts_code: f.nuts_code,
        government_level: level_out(f.government_level),
        sector: sector_out(f.sector),
        start_date: date_out(f.start_date),
        end_date: date_out(f.end_date),
        tags: f.tags,
        sdgs: f.sdgs,
        principles: f
            .principles
            .into_iter()
            .map(|p| principle_out(Some(p)))
            .collect(),
        facet: facet_out(f.facet),
        stage: stage_out(Some(i.stage)),
        status: status_out(Some(i.status)),
        links: f.links,
        recognition: f.recognition,
        milestones: f
            .milestones
            .into_iter()
            .map(|m| pb::Milestone {
                title: m.title,
                due_date: date_out(m.due_date),
                done_date: date_out(m.done_date),
            })
            .collect(),
        timeline: i
            .timeline
            .into_iter()
            .map(|e| pb::InitiativeEvent {
                from_stage: stage_out(e.from_stage),
                to_stage: stage_out(Some(e.to_stage)),
                from_status: status_out(e.from_status),
                to_status: status_out(Some(e.to_status)),
                actor: e.actor,
                note: e.note,
                event_time: timestamp(e.time),
            })
            .collect(),
        challenges: f.challenges,
        create_time: timestamp(i.meta.create_time),
        update_time: timestamp(i.meta.update_time),
        etag,
    }
}

/// The portfolio summary in the contract's form.
pub(crate) fn portfolio_pb(s: domain::PortfolioSummary) -> pb::PortfolioSummary {
    let counts = |v: Vec<(String, i64)>| {
        v.into_iter()
            .map(|(value, count)| pb::PortfolioCount { value, count })
            .collect()
    };
    pb::PortfolioSummary {
        total: s.total,
        by_stage: counts(s.by_stage),
        by_facet: counts(s.by_facet),
        by_status: counts(s.by_status),
        by_principle: counts(s.by_principle),
        by_country: counts(s.by_country),
        by_sdg: counts(s.by_sdg),
        reused: s.reused,
        reused_by_country: counts(s.reused_by_country),
        original_by_country: counts(s.original_by_country),
        reused_by_facet: counts(s.reused_by_facet),
        original_by_facet: counts(s.original_by_facet),
    }
}
