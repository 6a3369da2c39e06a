//! A subset of the AIP-160 filter language (<https://google.aip.dev/160>),
//! shared by every service's List methods.
//!
//! Supported: comparisons `field OP value` (OP one of `= != < <= > >=`), terms
//! joined by `AND` or by whitespace, `(f = a OR f = b ...)` over one field, and
//! free-text terms. Everything else AIP-160 allows (`NOT`, `-`, `:`,
//! functions, `OR` outside parentheses) is refused with a reason rather than
//! ignored, so a client never gets results for a query it did not ask for.
//!
//! Positions in error messages are 0-based character (not byte) offsets.

/// Longest accepted filter, in characters; bounds parsing work per request.
const MAX_CHARS: usize = 2000;
/// Most comparisons and free-text terms in one filter (each `OR`ed value counts).
const MAX_TERMS: usize = 50;

/// A parsed filter: a conjunction of conditions plus free-text terms.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Filter {
    /// Conditions that must all hold.
    pub conditions: Vec<Condition>,
    /// Free-text terms that must all match.
    pub text: Vec<String>,
}

impl Filter {
    /// Whether the filter restricts nothing.
    pub fn is_empty(&self) -> bool {
        self.conditions.is_empty() && self.text.is_empty()
    }
}

/// One restriction: `field op value`; several values (only with `Op::Eq`) mean any of them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Condition {
    /// The field name, possibly dotted (`a.b`).
    pub field: String,
    /// The comparison operator.
    pub op: Op,
    /// The compared values, unquoted and unescaped; never empty.
    pub values: Vec<String>,
}

/// A comparison operator.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    /// `=`
    Eq,
    /// `!=`
    Ne,
    /// `<`
    Lt,
    /// `<=`
    Le,
    /// `>`
    Gt,
    /// `>=`
    Ge,
}

impl Op {
    fn symbol(self) -> &'static str {
        match self {
            Op::Eq => "=",
            Op::Ne => "!=",
            Op::Lt => "<",
            Op::Le => "<=",
            Op::Gt => ">",
            Op::Ge => ">=",
        }
    }
}

/// Why a filter was refused, as a human-readable reason.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct FilterError(pub String);

/// Parses `input` as a filter; empty or whitespace-only input gives an empty filter.
pub fn parse(input: &str) -> Result<Filter, FilterError> {
    // Checked before collecting so a huge input costs no allocation.
    if input.chars().nth(MAX_CHARS).is_some() {
        return fail(format!("filter is longer than {MAX_CHARS} characters"));
    }
    Parser {
        chars: input.chars().collect(),
        pos: 0,
        terms: 0,
    }
    .filter()
}

fn fail<T>(reason: String) -> Result<T, FilterError> {
    Err(FilterError(reason))
}

/// A character as it should appear inside backticks in a message.
fn shown(c: char) -> String {
    c.escape_debug().to_string()
}

/// Characters of a bare word. Non-ASCII letters are accepted so free text in
/// any language works unquoted; `:` only where it cannot be the has operator.
fn is_word_char(c: char, colon: bool) -> bool {
    c.is_alphanumeric() || matches!(c, '_' | '.' | '/' | '-') || (colon && c == ':')
}

/// `[A-Za-z_][A-Za-z0-9_]*` segments joined by dots.
fn is_field_path(word: &str) -> bool {
    word.split('.').all(|segment| {
        let mut chars = segment.chars();
        chars
            .next()
            .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
            && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
    })
}

fn keyword(word: &str) -> Option<&'static str> {
    match word {
        "AND" => Some("AND"),
        "OR" => Some("OR"),
        "NOT" => Some("NOT"),
        _ => None,
    }
}

fn or_only() -> &'static str {
    "OR may only join `=` comparisons of the same field"
}

struct Parser {
    chars: Vec<char>,
    pos: usize,
    terms: usize,
}

impl Parser {
    fn peek(&self) -> Option<char> {
        self.chars.get(self.pos).copied()
    }

    fn peek_at(&self, ahead: usize) -> Option<char> {
        self.chars.get(self.pos.saturating_add(ahead)).copied()
    }

    fn skip_ws(&mut self) {
        while self.peek().is_some_and(char::is_whitespace) {
            self.pos += 1;
        }
    }

    fn read_word(&mut self, colon: bool) -> String {
        let mut word = String::new();
        while let Some(c) = self.peek()
            && is_word_char(c, colon)
        {
            word.push(c);
            self.pos += 1;
        }
        word
    }

    /// The keyword starting here, if the whole word at this position is one.
    fn keyword_here(&self) -> Option<&'static str> {
        let rest = self.chars.get(self.pos..).unwrap_or_default();
        let word: String = rest
            .iter()
            .take_while(|c| is_word_char(**c, false))
            .collect();
        keyword(&word)
    }

    fn count_term(&mut self) -> Result<(), FilterError> {
        self.terms += 1;
        if self.terms > MAX_TERMS {
            return fail(format!("filter has more than {MAX_TERMS} terms"));
        }
        Ok(())
    }

    fn filter(mut self) -> Result<Filter, FilterError> {
        let mut filter = Filter::default();
        let mut first = true;
        loop {
            self.skip_ws();
            if self.peek().is_none() {
                return Ok(filter);
            }
            if self.keyword_here() == Some("AND") {
                let and_at = self.pos;
                if first {
                    return fail(format!("`AND` at position {and_at} has no term before it"));
                }
                self.pos += 3;
                self.skip_ws();
                if self.peek().is_none() || self.keyword_here() == Some("AND") {
                    return fail(format!("expected a term after `AND` at position {and_at}"));
                }
            }
            self.term(&mut filter)?;
            first = false;
            if let Some(c) = self.peek()
                && !c.is_whitespace()
            {
                if c == ')' {
                    return fail(format!("unbalanced `)` at position {}", self.pos));
                }
                return fail(format!(
                    "unexpected `{}` at position {}",
                    shown(c),
                    self.pos
                ));
            }
        }
    }

    fn term(&mut self, filter: &mut Filter) -> Result<(), FilterError> {
        let at = self.pos;
        match self.peek() {
            None => fail(format!("expected a term at position {at}")),
            Some('(') => {
                let condition = self.group()?;
                filter.conditions.push(condition);
                Ok(())
            }
            Some(')') => fail(format!("unbalanced `)` at position {at}")),
            Some('"' | '\'') => {
                let text = self.quoted()?;
                let end = self.pos;
                self.skip_ws();
                if let Some((op, op_at)) = self.op()? {
                    return fail(format!(
                        "expected a field name before `{}` at position {op_at}, found a quoted string",
                        op.symbol()
                    ));
                }
                self.pos = end;
                self.count_term()?;
                filter.text.push(text);
                Ok(())
            }
            Some('-') => fail(format!(
                "negation with `-` is not supported (position {at})"
            )),
            Some(':') => fail(format!(
                "the has operator `:` is not supported (position {at})"
            )),
            Some('=' | '!' | '<' | '>') => {
                let sym = match self.op()? {
                    Some((op, _)) => op.symbol(),
                    None => "=",
                };
                fail(format!(
                    "expected a field name before `{sym}` at position {at}"
                ))
            }
            Some(c) if is_word_char(c, false) => self.word_term(filter),
            Some(c) => fail(format!("unexpected `{}` at position {at}", shown(c))),
        }
    }

    /// A comparison or a free-text bare word.
    fn word_term(&mut self, filter: &mut Filter) -> Result<(), FilterError> {
        let at = self.pos;
        let mut word = self.read_word(false);
        match keyword(&word) {
            Some("OR") => {
                return fail(format!(
                    "`OR` at position {at} is only supported inside parentheses, as in `(state = A OR state = B)`"
                ));
            }
            Some(kw) => return fail(format!("`{kw}` is not supported (position {at})")),
            None => {}
        }
        let field_like = is_field_path(&word);
        match self.peek() {
            Some('(') if field_like => {
                return fail(format!(
                    "functions are not supported (`{word}(` at position {at})"
                ));
            }
            Some(':') if field_like => {
                return fail(format!(
                    "the has operator `:` is not supported (position {})",
                    self.pos
                ));
            }
            // Not a field, so the colon is part of a value such as a time or URN.
            Some(':') => word.push_str(&self.read_word(true)),
            _ => {}
        }
        let end = self.pos;
        self.skip_ws();
        if self.peek() == Some(':') {
            return fail(format!(
                "the has operator `:` is not supported (position {})",
                self.pos
            ));
        }
        match self.op()? {
            Some((op, op_at)) => {
                if !is_field_path(&word) {
                    return fail(format!(
                        "`{word}` at position {at} is not a valid field name"
                    ));
                }
                let value = self.value(op, op_at)?;
                self.count_term()?;
                filter.conditions.push(Condition {
                    field: word,
                    op,
                    values: vec![value],
                });
            }
            None => {
                self.pos = end;
                self.count_term()?;
                filter.text.push(word);
            }
        }
        Ok(())
    }

    /// `( f = v1 OR f = v2 ... )` as one `Op::Eq` condition.
    fn group(&mut self) -> Result<Condition, FilterError> {
        let open = self.pos;
        self.pos += 1;
        let mut field: Option<String> = None;
        let mut values = Vec::new();
        let mut last_or: Option<usize> = None;
        loop {
            self.skip_ws();
            let at = self.pos;
            match self.peek() {
                None => return fail(format!("unclosed `(` at position {open}")),
                Some(')') => {
                    return match last_or {
                        Some(or_at) => fail(format!(
                            "expected a comparison after `OR` at position {or_at}"
                        )),
                        None => fail(format!("empty parentheses at position {open}")),
                    };
                }
                Some('(') => {
                    return fail(format!(
                        "nested parentheses are not supported (position {at})"
                    ));
                }
                Some('-') => {
                    return fail(format!(
                        "negation with `-` is not supported (position {at})"
                    ));
                }
                _ => {}
            }
            match self.keyword_here() {
                Some("NOT") => return fail(format!("`NOT` is not supported (position {at})")),
                Some(kw) => {
                    return fail(format!(
                        "expected a comparison before `{kw}` at position {at}"
                    ));
                }
                None => {}
            }
            let name = self.read_word(false);
            if name.is_empty() || !is_field_path(&name) {
                return fail(format!(
                    "expected `field = value` at position {at}: {}",
                    or_only()
                ));
            }
            match self.peek() {
                Some('(') => {
                    return fail(format!(
                        "functions are not supported (`{name}(` at position {at})"
                    ));
                }
                Some(':') => {
                    return fail(format!(
                        "the has operator `:` is not supported (position {})",
                        self.pos
                    ));
                }
                _ => {}
            }
            self.skip_ws();
            if self.peek() == Some(':') {
                return fail(format!(
                    "the has operator `:` is not supported (position {})",
                    self.pos
                ));
            }
            let Some((op, op_at)) = self.op()? else {
                return fail(format!(
                    "free text is not allowed inside parentheses (`{name}` at position {at}): {}",
                    or_only()
                ));
            };
            if op != Op::Eq {
                return fail(format!(
                    "{} (found `{}` at position {op_at})",
                    or_only(),
                    op.symbol()
                ));
            }
            match &field {
                Some(first) if *first != name => {
                    return fail(format!(
                        "{} (`{name}` at position {at} differs from `{first}`)",
                        or_only()
                    ));
                }
                Some(_) => {}
                None => field = Some(name),
            }
            values.push(self.value(op, op_at)?);
            self.count_term()?;
            self.skip_ws();
            let next = self.pos;
            match self.peek() {
                None => return fail(format!("unclosed `(` at position {open}")),
                Some(')') => {
                    self.pos += 1;
                    break;
                }
                Some(c) => match self.keyword_here() {
                    Some("OR") => {
                        self.pos += 2;
                        last_or = Some(next);
                    }
                    Some("AND") => {
                        return fail(format!(
                            "`AND` at position {next} is not allowed inside parentheses: {}",
                            or_only()
                        ));
                    }
                    _ => {
                        return fail(format!(
                            "expected `OR` or `)` at position {next}, found `{}`",
                            shown(c)
                        ));
                    }
                },
            }
        }
        match field {
            Some(field) => Ok(Condition {
                field,
                op: Op::Eq,
                values,
            }),
            None => fail(format!("empty parentheses at position {open}")),
        }
    }

    /// An operator here, consumed, with its position; `None` (nothing consumed) if there is none.
    fn op(&mut self) -> Result<Option<(Op, usize)>, FilterError> {
        let at = self.pos;
        let (op, len) = match (self.peek(), self.peek_at(1)) {
            (Some('!'), Some('=')) => (Op::Ne, 2),
            (Some('!'), _) => return fail(format!("expected `!=` at position {at}")),
            (Some('<'), Some('=')) => (Op::Le, 2),
            (Some('<'), _) => (Op::Lt, 1),
            (Some('>'), Some('=')) => (Op::Ge, 2),
            (Some('>'), _) => (Op::Gt, 1),
            (Some('='), _) => (Op::Eq, 1),
            _ => return Ok(None),
        };
        self.pos += len;
        Ok(Some((op, at)))
    }

    /// The value after operator `op` found at `op_at`.
    fn value(&mut self, op: Op, op_at: usize) -> Result<String, FilterError> {
        self.skip_ws();
        let at = self.pos;
        match self.peek() {
            Some('"' | '\'') => self.quoted(),
            Some(c) if is_word_char(c, true) => {
                let word = self.read_word(true);
                if let Some(kw) = keyword(&word) {
                    return fail(format!(
                        "`{kw}` at position {at} is a keyword; quote it to use it as a value"
                    ));
                }
                Ok(word)
            }
            Some(c) => fail(format!(
                "expected a value after `{}` at position {op_at}, found `{}`",
                op.symbol(),
                shown(c)
            )),
            None => fail(format!(
                "expected a value after `{}` at position {op_at}",
                op.symbol()
            )),
        }
    }

    /// A single- or double-quoted string with `\\`, `\"` and `\'` escapes.
    fn quoted(&mut self) -> Result<String, FilterError> {
        let start = self.pos;
        let quote = self.peek();
        self.pos += 1;
        let mut text = String::new();
        loop {
            match self.peek() {
                None => return fail(format!("unterminated string starting at position {start}")),
                Some('\\') => match self.peek_at(1) {
                    Some(c @ ('"' | '\'' | '\\')) => {
                        text.push(c);
                        self.pos += 2;
                    }
                    Some(c) => {
                        return fail(format!(
                            "unsupported escape `\\{}` at position {}",
                            shown(c),
                            self.pos
                        ));
                    }
                    None => {
                        return fail(format!("unterminated string starting at position {start}"));
                    }
                },
                Some(c) if Some(c) == quote => {
                    self.pos += 1;
                    return Ok(text);
                }
                Some(c) => {
                    text.push(c);
                    self.pos += 1;
                }
            }
        }
    }
}

#[cfg(test)]
mod tests;
