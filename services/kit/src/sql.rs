//! Building SQL text with `$n` placeholders that both SQLite and PostgreSQL
//! accept, for queries whose shape depends on the request (filters).

use sqlx::any::AnyArguments;
use sqlx::{Any, Arguments};

use crate::page::{Page, PageRequest};

/// SQL text and its bound values, built together so placeholders stay numbered.
#[derive(Debug, Default)]
pub struct Sql {
    text: String,
    values: Vec<Value>,
}

/// A value bound to a placeholder.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Value {
    /// Text.
    Text(String),
    /// Integer.
    Int(i64),
}

impl From<&str> for Value {
    fn from(v: &str) -> Self {
        Value::Text(v.to_string())
    }
}
impl From<String> for Value {
    fn from(v: String) -> Self {
        Value::Text(v)
    }
}
impl From<i64> for Value {
    fn from(v: i64) -> Self {
        Value::Int(v)
    }
}

impl Sql {
    /// Starts with a fixed prefix.
    pub fn new(text: &str) -> Self {
        Sql {
            text: text.to_string(),
            ..Sql::default()
        }
    }

    /// Appends SQL text.
    pub fn push(&mut self, text: &str) -> &mut Self {
        self.text.push_str(text);
        self
    }

    /// Appends a placeholder bound to `value`.
    pub fn bind(&mut self, value: impl Into<Value>) -> &mut Self {
        self.values.push(value.into());
        self.text.push('$');
        self.text.push_str(&self.values.len().to_string());
        self
    }

    /// Appends `(placeholder, placeholder, ...)` for an IN list.
    pub fn bind_list(&mut self, values: impl IntoIterator<Item = Value>) -> &mut Self {
        self.push("(");
        for (i, v) in values.into_iter().enumerate() {
            if i > 0 {
                self.push(", ");
            }
            self.bind(v);
        }
        self.push(")")
    }

    /// The finished query.
    pub fn build(&self) -> sqlx::query::Query<'_, Any, AnyArguments<'_>> {
        let mut args = AnyArguments::default();
        for value in &self.values {
            // Adding a String or i64 to AnyArguments cannot fail.
            let _ = match value {
                Value::Text(v) => args.add(v.clone()),
                Value::Int(v) => args.add(*v),
            };
        }
        sqlx::query_with(&self.text, args)
    }

    /// The SQL text so far.
    pub fn text(&self) -> &str {
        &self.text
    }
}

/// Escapes `%`, `_` and `\` for a `LIKE ... ESCAPE '\'` pattern.
pub fn like_escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        if matches!(c, '%' | '_' | '\\') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// Appends `AND column IN (...)` when `values` is not empty.
pub fn and_in<T>(sql: &mut Sql, column: &str, values: &[T], to_value: impl Fn(&T) -> Value) {
    if !values.is_empty() {
        sql.push(" AND ").push(column).push(" IN ");
        sql.bind_list(values.iter().map(to_value));
    }
}

/// Appends one `AND <column> LIKE ...` per free-text term.
pub fn and_text(sql: &mut Sql, column: &str, terms: &[String]) {
    for term in terms {
        sql.push(" AND ")
            .push(column)
            .push(" LIKE ")
            .bind(format!("%{}%", like_escape(term)))
            .push(" ESCAPE '\\'");
    }
}

/// Appends the keyset condition, order and limit (one extra row tells whether
/// another page follows).
pub fn and_page(sql: &mut Sql, column: &str, page: &PageRequest) {
    if let Some(after) = &page.after {
        sql.push(" AND ")
            .push(column)
            .push(" > ")
            .bind(after.clone());
    }
    sql.push(" ORDER BY ").push(column).push(" LIMIT ");
    sql.bind(i64::try_from(page.size + 1).unwrap_or(i64::MAX));
}

/// Cuts the extra row (see [`and_page`]) off and takes the cursor from the
/// last item kept, by its id.
pub fn paginate<T>(items: Vec<T>, page: &PageRequest, id: impl Fn(&T) -> &str) -> Page<T> {
    paginate_by(items, page, |item| id(item).to_string())
}

/// [`paginate`] with a cursor of another shape than the id.
pub fn paginate_by<T>(
    mut items: Vec<T>,
    page: &PageRequest,
    cursor: impl Fn(&T) -> String,
) -> Page<T> {
    let next = if items.len() > page.size {
        items.truncate(page.size);
        items.last().map(cursor)
    } else {
        None
    };
    Page { items, next }
}
