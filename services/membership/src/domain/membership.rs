//! Memberships (W3C ORG / Popolo): who belongs to which group, in which role,
//! from when to when, with a lifecycle whose every step is recorded.

use innolab_kit::{Error, Violations, query};

use super::check;
use super::{Date, Decision, MembershipState, Meta, Role, parse_ids, parse_names};

/// What an applicant writes.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct MembershipFields {
    /// `groups/{id}`; required.
    pub group: String,
    /// `organizations/{id}` or `people/{id}`; required.
    pub member: String,
    /// Role; required.
    pub role: Option<Role>,
    /// Requested first day.
    pub start_date: Option<Date>,
}

/// One recorded transition.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MembershipEvent {
    /// State before (`None` for the application).
    pub from_state: Option<MembershipState>,
    /// State after.
    pub to_state: MembershipState,
    /// Who and why.
    pub decision: Decision,
    /// Microseconds since the epoch.
    pub time: i64,
}

/// A stored membership.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Membership {
    /// Id within `memberships/`.
    pub id: String,
    /// What was applied for (start date as now in force).
    pub fields: MembershipFields,
    /// Current state.
    pub state: MembershipState,
    /// Last day, once ended.
    pub end_date: Option<Date>,
    /// Every transition, oldest first.
    pub history: Vec<MembershipEvent>,
    /// Bookkeeping.
    pub meta: Meta,
}

impl Membership {
    /// Resource name.
    pub fn name(&self) -> String {
        format!("memberships/{}", self.id)
    }
}

/// The transition methods.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    /// APPLIED -> ACTIVE.
    Approve,
    /// APPLIED -> REJECTED.
    Reject,
    /// ACTIVE -> SUSPENDED.
    Suspend,
    /// SUSPENDED -> ACTIVE.
    Reinstate,
    /// ACTIVE or SUSPENDED -> LEFT.
    End,
}

/// Every legal move; anything else is FAILED_PRECONDITION.
pub const TRANSITIONS: &[(MembershipState, Action, MembershipState)] = &[
    (
        MembershipState::Applied,
        Action::Approve,
        MembershipState::Active,
    ),
    (
        MembershipState::Applied,
        Action::Reject,
        MembershipState::Rejected,
    ),
    (
        MembershipState::Active,
        Action::Suspend,
        MembershipState::Suspended,
    ),
    (
        MembershipState::Suspended,
        Action::Reinstate,
        MembershipState::Active,
    ),
    (MembershipState::Active, Action::End, MembershipState::Left),
    (
        MembershipState::Suspended,
        Action::End,
        MembershipState::Left,
    ),
];

impl Action {
    fn verb(self) -> &'static str {
        match self {
            Action::Approve => "approve",
            Action::Reject => "reject",
            Action::Suspend => "suspend",
            Action::Reinstate => "reinstate",
            Action::End => "end",
        }
    }
}

/// A requested transition.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Transition {
    /// What to do.
    pub action: Action,
    /// Who decided and why.
    pub decision: Decision,
    /// Start (approve) or end (end) date; defaults apply when `None`.
    pub effective_date: Option<Date>,
    /// Revision named by the caller's etag.
    pub expected_revision: Option<i64>,
}

/// What a transition changes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outcome {
    /// New state.
    pub state: MembershipState,
    /// Start date after the transition.
    pub start_date: Option<Date>,
    /// End date after the transition.
    pub end_date: Option<Date>,
}

impl Membership {
    /// Applies the lifecycle rules; `today` fills in missing dates.
    pub fn transition(&self, t: &Transition, today: Date) -> Result<Outcome, Error> {
        let to = TRANSITIONS
            .iter()
            .find(|(from, action, _)| *from == self.state && *action == t.action)
            .map(|(_, _, to)| *to)
            .ok_or_else(|| {
                Error::failed_precondition(
                    "ILLEGAL_TRANSITION",
                    format!(
                        "cannot {} a membership that is {}",
                        t.action.verb(),
                        self.state
                    ),
                )
            })?;
        let mut outcome = Outcome {
            state: to,
            start_date: self.fields.start_date,
            end_date: self.end_date,
        };
        match t.action {
            Action::Approve => {
                outcome.start_date = t.effective_date.or(self.fields.start_date).or(Some(today));
            }
            Action::End => {
                let end = t.effective_date.unwrap_or(today);
                if let Some(start) = outcome.start_date
                    && end < start
                {
                    return Err(Error::invalid(
                        "effective_date",
                        format!("the end date {end} is before the start date {start}"),
                    ));
                }
                outcome.end_date = Some(end);
            }
            Action::Reject | Action::Suspend | Action::Reinstate => {
                if t.effective_date.is_some() {
                    return Err(Error::invalid(
                        "effective_date",
                        format!("{} takes no date", t.action.verb()),
                    ));
                }
            }
        }
        Ok(outcome)
    }
}

impl MembershipFields {
    /// Checks every field.
    pub fn validate(self) -> Result<Self, Error> {
        let mut v = Violations::new();
        if self.group.is_empty() {
            v.add("group", "is required");
        } else if let Err(e) = check::resource_id(&self.group, "groups") {
            v.add("group", e);
        }
        if self.member.is_empty() {
            v.add("member", "is required: organizations/{id} or people/{id}");
        } else if check::resource_id(&self.member, "organizations").is_err()
            && check::resource_id(&self.member, "people").is_err()
        {
            v.add(
                "member",
                format!(
                    "{:?} is neither organizations/{{id}} nor people/{{id}}",
                    self.member
                ),
            );
        }
        match self.role {
            None => v.add("role", "is required"),
            Some(Role::NationalContactPoint) => v.add(
                "role",
                "NATIONAL_CONTACT_POINT is a post held by one person: use CreatePost and AssignPostHolder",
            ),
            Some(_) => {}
        }
        v.finish()?;
        Ok(self)
    }
}

/// A parsed ListMemberships filter.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MembershipQuery {
    /// In any of these groups (ids).
    pub group_ids: Vec<String>,
    /// Of any of these members (resource names).
    pub members: Vec<String>,
    /// With any of these roles.
    pub roles: Vec<Role>,
    /// In any of these states.
    pub states: Vec<MembershipState>,
}

impl MembershipQuery {
    /// Parses the `filter` of ListMemberships.
    pub fn from_filter(filter: &str) -> Result<Self, Error> {
        let mut r = query::restrictions(filter, &["group", "member", "role", "state"])?;
        if !r.text.is_empty() {
            return Err(Error::invalid(
                "filter",
                "memberships have no free text; filter by group, member, role or state",
            ));
        }
        let members = r.take("member");
        for m in &members {
            if check::resource_id(m, "organizations").is_err()
                && check::resource_id(m, "people").is_err()
            {
                return Err(Error::invalid(
                    "filter",
                    format!("`member`: {m:?} is neither organizations/{{id}} nor people/{{id}}"),
                ));
            }
        }
        Ok(MembershipQuery {
            group_ids: parse_ids("group", r.take("group"), "groups")?,
            members,
            roles: parse_names("role", r.take("role"), Role::parse)?,
            states: parse_names("state", r.take("state"), MembershipState::parse)?,
        })
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn membership(state: MembershipState, start: Option<Date>) -> Membership {
        Membership {
            id: "m".into(),
            fields: MembershipFields {
                group: "groups/g".into(),
                member: "people/p".into(),
                role: Some(Role::Member),
                start_date: start,
            },
            state,
            end_date: None,
            history: vec![],
            meta: Meta {
                create_time: 0,
                update_time: 0,
                revision: 1,
            },
        }
    }

    fn t(action: Action, date: Option<Date>) -> Transition {
        Transition {
            action,
            decision: Decision {
                decided_by: "people/x".into(),
                reason: String::new(),
            },
            effective_date: date,
            expected_revision: None,
        }
    }

    #[test]
    fn only_listed_moves_are_legal() {
        let today = time::macros::date!(2026 - 01 - 10);
        let actions = [
            Action::Approve,
            Action::Reject,
            Action::Suspend,
            Action::Reinstate,
            Action::End,
        ];
        for state in MembershipState::ALL {
            for action in actions {
                let legal = TRANSITIONS
                    .iter()
                    .any(|(f, a, _)| f == state && *a == action);
                let result = membership(*state, None).transition(&t(action, None), today);
                assert_eq!(result.is_ok(), legal, "{state} {action:?}");
            }
        }
    }

    #[test]
    fn approval_and_end_dates() {
        let today = time::macros::date!(2026 - 01 - 10);
        let out = membership(MembershipState::Applied, None)
            .transition(&t(Action::Approve, None), today)
            .unwrap();
        assert_eq!(out.start_date, Some(today));
        let early = time::macros::date!(2025 - 01 - 01);
        let err = membership(MembershipState::Active, Some(today))
            .transition(&t(Action::End, Some(early)), today)
            .unwrap_err();
        assert!(matches!(err, Error::InvalidArgument(_)));
    }
}
