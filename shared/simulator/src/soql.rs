//! The SOQL subset the simulator understands: tokenizer, parser, and evaluator.
//!
//! ```text
//! SELECT f1, f2 | COUNT() | COUNT(f) [alias] FROM Object
//!   [WHERE cond] [ORDER BY f [ASC|DESC] [NULLS FIRST|LAST], ...] [LIMIT n] [OFFSET n]
//! ```
//! Conditions support `= != <> < > <= >=`, `[NOT] IN (...)`, `LIKE`, `AND`, `OR`, `NOT`
//! and parentheses; literals are quoted strings, numbers, `true`/`false`, `null`, dates
//! and datetimes. Errors carry Salesforce's error codes and message layouts.
//!
//! A field may be a parent's, one level up through a relationship: `Account.Name`,
//! `Owner.Email`, `Account__r.Name`, and in SELECT the polymorphic `Who.Name` /
//! `What.Name` (in WHERE only single-object relationships). Not supported: deeper
//! paths, ORDER BY on parent fields, subqueries, semi-joins, GROUP BY, date literals
//! such as `LAST_N_DAYS:30`. Tooling API queries ([`parse_tooling`]) resolve objects
//! among the tooling objects instead.

use crate::ids;
use crate::schema::{self, Features, FieldType, ObjectDef};
use crate::value::{Val, days_from_civil};
use std::cmp::Ordering;

/// A query error as Salesforce reports it: an error code and a message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SoqlError {
    pub code: &'static str,
    pub message: String,
}

#[derive(Debug, Clone, PartialEq)]
enum Tok {
    Ident(String),
    Str(String),
    Num(f64),
    Date(i64),
    DateTime(i64),
    LParen,
    RParen,
    Comma,
    Op(&'static str),
    Eof,
}

#[derive(Debug, Clone)]
struct Token {
    tok: Tok,
    /// Byte offset of the token in the query text.
    start: usize,
    /// The token as written, for error messages.
    text: String,
}

/// Formats a positioned error the way Salesforce does: an excerpt of the query line, a
/// caret under the offending token, its row and column, then the message.
///
/// Salesforce shows the six tokens before the offending one; when only the first
/// token of the line would be left out it shows the whole line.
fn positioned(query: &str, tokens: &[Token], at: usize, message: &str) -> String {
    let start = tokens.get(at).map_or(query.len(), |t| t.start);
    let line_start = query[..start].rfind('\n').map_or(0, |i| i + 1);
    let line_end = query[start..].find('\n').map_or(query.len(), |i| start + i);
    let row = query[..start].matches('\n').count() + 1;
    let column = query[line_start..start].chars().count() + 1;
    let first_on_line = tokens
        .iter()
        .position(|t| t.start >= line_start)
        .unwrap_or(0);
    let mut from = at.saturating_sub(6).max(first_on_line);
    if from == first_on_line + 1 {
        from = first_on_line;
    }
    let excerpt_start = tokens
        .get(from)
        .map_or(line_start, |t| t.start.max(line_start));
    let excerpt = &query[excerpt_start..line_end];
    let caret_pad = query[excerpt_start..start].chars().count();
    format!(
        "\n{excerpt}\n{}^\nERROR at Row:{row}:Column:{column}\n{message}",
        " ".repeat(caret_pad)
    )
}

fn malformed(message: String) -> SoqlError {
    SoqlError {
        code: "MALFORMED_QUERY",
        message,
    }
}

fn lex(query: &str) -> Result<Vec<Token>, SoqlError> {
    let bytes = query.as_bytes();
    let mut tokens = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        let c = bytes[i];
        let start = i;
        if c.is_ascii_whitespace() {
            i += 1;
            continue;
        }
        let tok = match c {
            b'(' => {
                i += 1;
                Tok::LParen
            }
            b')' => {
                i += 1;
                Tok::RParen
            }
            b',' => {
                i += 1;
                Tok::Comma
            }
            b'=' => {
                i += 1;
                Tok::Op("=")
            }
            b'!' if bytes.get(i + 1) == Some(&b'=') => {
                i += 2;
                Tok::Op("!=")
            }
            b'<' | b'>' => {
                let next = bytes.get(i + 1).copied();
                let (op, len) = match (c, next) {
                    (b'<', Some(b'=')) => ("<=", 2),
                    (b'<', Some(b'>')) => ("!=", 2),
                    (b'>', Some(b'=')) => (">=", 2),
                    (b'<', _) => ("<", 1),
                    _ => (">", 1),
                };
                i += len;
                Tok::Op(op)
            }
            b'\'' => {
                let mut value = String::new();
                i += 1;
                loop {
                    let Some(ch) = query[i..].chars().next() else {
                        let t = Token {
                            tok: Tok::Eof,
                            start: query.len(),
                            text: "<EOF>".into(),
                        };
                        return Err(malformed(positioned(
                            query,
                            &[t],
                            0,
                            "unexpected token: '<EOF>'",
                        )));
                    };
                    i += ch.len_utf8();
                    match ch {
                        '\'' => break,
                        '\\' => {
                            let Some(esc) = query[i..].chars().next() else {
                                continue;
                            };
                            i += esc.len_utf8();
                            value.push(match esc {
                                'n' => '\n',
                                'r' => '\r',
                                't' => '\t',
                                'b' => '\u{8}',
                                'f' => '\u{c}',
                                other => other,
                            });
                        }
                        other => value.push(other),
                    }
                }
                Tok::Str(value)
            }
            b'0'..=b'9' | b'-' | b'+' | b'.' => {
                i += 1;
                while i < bytes.len()
                    && (bytes[i].is_ascii_alphanumeric() || b"-+:.".contains(&bytes[i]))
                {
                    // A sign only continues a literal inside a datetime's zone offset.
                    if (bytes[i] == b'-' || bytes[i] == b'+')
                        && !query[start..i].contains('T')
                        && i - start != 4
                        && i - start != 7
                    {
                        break;
                    }
                    i += 1;
                }
                number_or_date(&query[start..i]).ok_or_else(|| {
                    let t = Token {
                        tok: Tok::Eof,
                        start,
                        text: query[start..i].to_string(),
                    };
                    malformed(positioned(
                        query,
                        &[t],
                        0,
                        &format!("unexpected token: '{}'", &query[start..i]),
                    ))
                })?
            }
            c if c.is_ascii_alphabetic() || c == b'_' => {
                while i < bytes.len()
                    && (bytes[i].is_ascii_alphanumeric() || bytes[i] == b'_' || bytes[i] == b'.')
                {
                    i += 1;
                }
                Tok::Ident(query[start..i].to_string())
            }
            _ => {
                let ch = query[i..].chars().next().unwrap_or('?');
                let t = Token {
                    tok: Tok::Eof,
                    start,
                    text: ch.to_string(),
                };
                return Err(malformed(positioned(
                    query,
                    &[t],
                    0,
                    &format!("unexpected token: '{ch}'"),
                )));
            }
        };
        tokens.push(Token {
            tok,
            start,
            text: query[start..i].to_string(),
        });
    }
    tokens.push(Token {
        tok: Tok::Eof,
        start: query.len(),
        text: "<EOF>".into(),
    });
    Ok(tokens)
}

/// Parses a number, a date (`2024-01-31`) or a datetime (`2024-01-31T00:00:00Z`,
/// with optional fraction and a `+hh:mm` / `+hhmm` offset).
fn number_or_date(text: &str) -> Option<Tok> {
    let b = text.as_bytes();
    let is_date =
        b.len() >= 10 && b[4] == b'-' && b[7] == b'-' && b[..4].iter().all(u8::is_ascii_digit);
    if !is_date {
        return text
            .parse::<f64>()
            .ok()
            .filter(|f| f.is_finite())
            .map(Tok::Num);
    }
    let num = |s: &str| s.parse::<u32>().ok();
    let (y, m, d) = (num(&text[..4])?, num(&text[5..7])?, num(&text[8..10])?);
    if !(1..=12).contains(&m) || !(1..=31).contains(&d) {
        return None;
    }
    let days = days_from_civil(i64::from(y), m, d);
    if b.len() == 10 {
        return Some(Tok::Date(days));
    }
    if b[10] != b'T' || b.len() < 19 || b[13] != b':' || b[16] != b':' {
        return None;
    }
    let (h, mi, s) = (
        num(&text[11..13])?,
        num(&text[14..16])?,
        num(&text[17..19])?,
    );
    if h > 23 || mi > 59 || s > 60 {
        return None;
    }
    let mut rest = &text[19..];
    if let Some(frac) = rest.strip_prefix('.') {
        let digits = frac.bytes().take_while(u8::is_ascii_digit).count();
        if digits == 0 {
            return None;
        }
        rest = &frac[digits..];
    }
    let offset = match rest {
        "Z" => 0,
        _ => {
            let sign = match rest.as_bytes().first()? {
                b'+' => 1,
                b'-' => -1,
                _ => return None,
            };
            let digits: String = rest[1..].chars().filter(|c| *c != ':').collect();
            if digits.len() != 4 || rest.len() > 6 {
                return None;
            }
            let (oh, om) = (num(&digits[..2])?, num(&digits[2..])?);
            sign * i64::from(oh * 3600 + om * 60)
        }
    };
    let secs = days * 86_400 + i64::from(h * 3600 + mi * 60 + s) - offset;
    Some(Tok::DateTime(secs))
}

/// A literal of a condition, typed and normalised for comparison.
#[derive(Debug, Clone, PartialEq)]
pub enum Lit {
    Null,
    /// Text; lower-cased for text fields, which compare case-insensitively, and kept as
    /// a full 18-character id for id fields.
    Str(String),
    Num(f64),
    Bool(bool),
    Date(i64),
    DateTime(i64),
}

/// Comparison operators.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CmpOp {
    Eq,
    Ne,
    Lt,
    Gt,
    Le,
    Ge,
}

/// A compiled WHERE condition over field indexes.
#[derive(Debug, Clone)]
pub enum Cond {
    Cmp {
        field: usize,
        op: CmpOp,
        lit: Lit,
    },
    In {
        field: usize,
        lits: Vec<Lit>,
        negated: bool,
    },
    Like {
        field: usize,
        pattern: Vec<LikePart>,
    },
    And(Vec<Cond>),
    Or(Vec<Cond>),
    Not(Box<Cond>),
    /// A condition on the parent record a reference field points to (`Account.Name =
    /// 'x'`), over the parent object's field indexes. A missing parent has only nulls.
    Parent {
        reference: usize,
        object: &'static ObjectDef,
        cond: Box<Cond>,
    },
}

impl Cond {
    /// The first field the condition names that an org with `features` does not have.
    fn feature_gated_field(
        &self,
        object: &'static ObjectDef,
        features: Features,
    ) -> Option<(&'static str, &'static str)> {
        let own = |index: usize| object.missing_field(index, features);
        match self {
            Cond::Cmp { field, .. } | Cond::In { field, .. } | Cond::Like { field, .. } => {
                own(*field)
            }
            Cond::And(parts) | Cond::Or(parts) => parts
                .iter()
                .find_map(|c| c.feature_gated_field(object, features)),
            Cond::Not(inner) => inner.feature_gated_field(object, features),
            Cond::Parent {
                reference,
                object: target,
                cond,
            } => own(*reference).or_else(|| cond.feature_gated_field(target, features)),
        }
    }
}

/// Finds the parent record a reference value points to, if it is a record of `object`.
pub type ParentLookup<'a> = dyn Fn(&ObjectDef, &Val) -> Option<Vec<Val>> + 'a;

/// A piece of a LIKE pattern.
#[derive(Debug, Clone, PartialEq)]
pub enum LikePart {
    /// Literal text, lower-cased.
    Text(String),
    /// `_`: exactly one character.
    One,
    /// `%`: any run of characters.
    Any,
}

/// What a query selects.
#[derive(Debug, Clone)]
pub enum Selection {
    /// `COUNT()`: only the number of rows.
    Count,
    /// Plain fields, by index, in SELECT order.
    Fields(Vec<usize>),
    /// `COUNT(field)` aggregates with their output names (`expr0` unless aliased).
    Aggregates(Vec<(Option<usize>, String)>),
}

/// One ORDER BY key.
#[derive(Debug, Clone, Copy)]
pub struct OrderKey {
    pub field: usize,
    pub descending: bool,
    pub nulls_first: bool,
}

/// A field of a parent record selected through a relationship, e.g. `Account.Name`
/// or the polymorphic `Who.Name`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParentField {
    /// Index of the reference field (e.g. `AccountId`) in the queried object.
    pub reference: usize,
    /// The relationship name as the schema spells it (e.g. `Account`).
    pub relationship: &'static str,
    /// The parent field's name as the schema spells it (e.g. `Name`).
    pub field: &'static str,
}

/// One column of a plain SELECT list, in SELECT order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Column {
    /// A field of the queried object, by index.
    Field(usize),
    /// A field of a parent record.
    Parent(ParentField),
}

/// A parsed, validated query: everything a cursor needs to produce any page again.
#[derive(Debug, Clone)]
pub struct Query {
    pub object: &'static ObjectDef,
    /// For plain SELECT lists, the object's own fields (parent fields are only in
    /// `columns`).
    pub selection: Selection,
    pub condition: Option<Cond>,
    pub order: Vec<OrderKey>,
    pub limit: Option<u64>,
    pub offset: u64,
    /// Every column of a plain SELECT list, parent fields included, in SELECT order;
    /// empty for COUNT queries.
    pub columns: Vec<Column>,
    /// `queryAll`: soft-deleted records are rows too. `parse` sets it to false.
    pub all_rows: bool,
}

impl Query {
    /// The first field the query names that an org with `features` does not have:
    /// (object, field).
    fn feature_gated_field(&self, features: Features) -> Option<(&'static str, &'static str)> {
        let object = self.object;
        let own = |index: usize| object.missing_field(index, features);
        let selected = match &self.selection {
            Selection::Count => None,
            Selection::Fields(fields) => fields.iter().find_map(|&i| own(i)),
            Selection::Aggregates(aggregates) => {
                aggregates.iter().find_map(|(field, _)| field.and_then(own))
            }
        };
        let parents = self.columns.iter().find_map(|column| match column {
            Column::Field(_) => None,
            Column::Parent(parent) => own(parent.reference).or_else(|| {
                object.fields[parent.reference]
                    .reference_to
                    .iter()
                    .filter_map(|name| schema::object(name))
                    .find_map(|target| {
                        target
                            .field_index(parent.field)
                            .and_then(|i| target.missing_field(i, features))
                    })
            }),
        });
        selected
            .or(parents)
            .or_else(|| self.order.iter().find_map(|key| own(key.field)))
            .or_else(|| {
                self.condition
                    .as_ref()
                    .and_then(|c| c.feature_gated_field(object, features))
            })
    }

    /// True when rows come in index order, so a page can be produced by scanning.
    pub fn index_ordered(&self) -> bool {
        match self.order.as_slice() {
            [] => true,
            [key] => key.field == 0 && !key.descending,
            _ => false,
        }
    }
}

struct Parser<'q> {
    query: &'q str,
    tokens: Vec<Token>,
    pos: usize,
}

impl<'q> Parser<'q> {
    fn peek(&self) -> &Tok {
        &self.tokens[self.pos.min(self.tokens.len() - 1)].tok
    }

    fn advance(&mut self) -> usize {
        let at = self.pos;
        if self.pos < self.tokens.len() - 1 {
            self.pos += 1;
        }
        at
    }

    fn unexpected(&self, at: usize) -> SoqlError {
        let text = &self.tokens[at.min(self.tokens.len() - 1)].text;
        malformed(positioned(
            self.query,
            &self.tokens,
            at,
            &format!("unexpected token: '{text}'"),
        ))
    }

    fn error_at(&self, at: usize, code: &'static str, message: &str) -> SoqlError {
        SoqlError {
            code,
            message: positioned(self.query, &self.tokens, at, message),
        }
    }

    fn is_keyword(&self, word: &str) -> bool {
        matches!(self.peek(), Tok::Ident(s) if s.eq_ignore_ascii_case(word))
    }

    fn expect_keyword(&mut self, word: &str) -> Result<(), SoqlError> {
        if self.is_keyword(word) {
            self.advance();
            Ok(())
        } else {
            Err(self.unexpected(self.pos))
        }
    }

    fn expect(&mut self, tok: &Tok) -> Result<(), SoqlError> {
        if self.peek() == tok {
            self.advance();
            Ok(())
        } else {
            Err(self.unexpected(self.pos))
        }
    }

    fn ident(&mut self) -> Result<(String, usize), SoqlError> {
        match self.peek().clone() {
            Tok::Ident(name) if !is_reserved(&name) => Ok((name, self.advance())),
            _ => Err(self.unexpected(self.pos)),
        }
    }

    fn unsigned(&mut self) -> Result<u64, SoqlError> {
        match *self.peek() {
            Tok::Num(n) if n >= 0.0 && n.fract() == 0.0 => {
                self.advance();
                Ok(n as u64)
            }
            _ => Err(self.unexpected(self.pos)),
        }
    }
}

/// The fields of Salesforce's `Name` entity, what a polymorphic relationship resolves to.
const NAME_ENTITY_FIELDS: &[&str] = &[
    "Id",
    "Alias",
    "Email",
    "FirstName",
    "IsActive",
    "LastName",
    "Name",
    "Phone",
    "Title",
    "Type",
    "Username",
];

/// Words that end a field list or a condition and so cannot be field names.
fn is_reserved(word: &str) -> bool {
    const RESERVED: &[&str] = &[
        "SELECT", "FROM", "WHERE", "AND", "OR", "NOT", "IN", "LIKE", "ORDER", "BY", "LIMIT",
        "OFFSET", "ASC", "DESC", "NULLS", "NULL", "TRUE", "FALSE", "GROUP", "HAVING",
    ];
    RESERVED.iter().any(|r| r.eq_ignore_ascii_case(word))
}

/// A SELECT item before the object is known.
enum RawItem {
    Count,
    Field(String, usize),
    CountOf(Option<(String, usize)>, Option<String>),
}

/// A condition before field names are resolved.
enum RawCond {
    Cmp {
        field: (String, usize),
        op: CmpOp,
        lit: (Tok, usize),
    },
    In {
        field: (String, usize),
        lits: Vec<(Tok, usize)>,
        negated: bool,
    },
    Like {
        field: (String, usize),
        pattern: (Tok, usize),
    },
    And(Vec<RawCond>),
    Or(Vec<RawCond>),
    Not(Box<RawCond>),
}

impl Parser<'_> {
    fn select_items(&mut self) -> Result<Vec<RawItem>, SoqlError> {
        let mut items = Vec::new();
        loop {
            let (name, at) = self.ident()?;
            if name.eq_ignore_ascii_case("COUNT") && *self.peek() == Tok::LParen {
                self.advance();
                if *self.peek() == Tok::RParen {
                    self.advance();
                    items.push(RawItem::Count);
                } else {
                    let field = self.ident()?;
                    self.expect(&Tok::RParen)?;
                    let alias = match self.peek().clone() {
                        Tok::Ident(a) if !is_reserved(&a) => {
                            self.advance();
                            Some(a)
                        }
                        _ => None,
                    };
                    items.push(RawItem::CountOf(Some(field), alias));
                }
            } else {
                items.push(RawItem::Field(name, at));
            }
            if *self.peek() == Tok::Comma {
                self.advance();
            } else {
                return Ok(items);
            }
        }
    }

    fn literal(&mut self) -> Result<(Tok, usize), SoqlError> {
        match self.peek().clone() {
            tok @ (Tok::Str(_) | Tok::Num(_) | Tok::Date(_) | Tok::DateTime(_)) => {
                Ok((tok, self.advance()))
            }
            Tok::Ident(word)
                if ["null", "true", "false"]
                    .iter()
                    .any(|w| w.eq_ignore_ascii_case(&word)) =>
            {
                Ok((Tok::Ident(word.to_ascii_lowercase()), self.advance()))
            }
            _ => Err(self.unexpected(self.pos)),
        }
    }

    fn or_cond(&mut self) -> Result<RawCond, SoqlError> {
        let mut parts = vec![self.and_cond()?];
        while self.is_keyword("OR") {
            self.advance();
            parts.push(self.and_cond()?);
        }
        Ok(if parts.len() == 1 {
            parts.remove(0)
        } else {
            RawCond::Or(parts)
        })
    }

    fn and_cond(&mut self) -> Result<RawCond, SoqlError> {
        let mut parts = vec![self.not_cond()?];
        while self.is_keyword("AND") {
            self.advance();
            parts.push(self.not_cond()?);
        }
        Ok(if parts.len() == 1 {
            parts.remove(0)
        } else {
            RawCond::And(parts)
        })
    }

    fn not_cond(&mut self) -> Result<RawCond, SoqlError> {
        if self.is_keyword("NOT") {
            self.advance();
            return Ok(RawCond::Not(Box::new(self.not_cond()?)));
        }
        if *self.peek() == Tok::LParen {
            self.advance();
            let inner = self.or_cond()?;
            self.expect(&Tok::RParen)?;
            return Ok(inner);
        }
        let field = self.ident()?;
        let negated = if self.is_keyword("NOT") {
            self.advance();
            if !self.is_keyword("IN") {
                return Err(self.unexpected(self.pos));
            }
            true
        } else {
            false
        };
        if self.is_keyword("IN") {
            self.advance();
            self.expect(&Tok::LParen)?;
            let mut lits = vec![self.literal()?];
            while *self.peek() == Tok::Comma {
                self.advance();
                lits.push(self.literal()?);
            }
            self.expect(&Tok::RParen)?;
            return Ok(RawCond::In {
                field,
                lits,
                negated,
            });
        }
        if self.is_keyword("LIKE") {
            self.advance();
            let pattern = self.literal()?;
            return Ok(RawCond::Like { field, pattern });
        }
        let op = match self.peek() {
            Tok::Op("=") => CmpOp::Eq,
            Tok::Op("!=") => CmpOp::Ne,
            Tok::Op("<") => CmpOp::Lt,
            Tok::Op(">") => CmpOp::Gt,
            Tok::Op("<=") => CmpOp::Le,
            Tok::Op(">=") => CmpOp::Ge,
            _ => return Err(self.unexpected(self.pos)),
        };
        self.advance();
        let lit = self.literal()?;
        Ok(RawCond::Cmp { field, op, lit })
    }
}

/// Parses and validates `text`, resolving the object and its fields, in an org with
/// every feature on.
pub fn parse(text: &str) -> Result<Query, SoqlError> {
    parse_in(text, schema::object)
}

/// Parses and validates `text` in an org with `features`: a field or object of a
/// feature that is off does not exist, as Salesforce answers for such an org.
pub fn parse_for(text: &str, features: Features) -> Result<Query, SoqlError> {
    let query = parse(text)?;
    if !features.allows(query.object.feature) {
        return Err(SoqlError {
            code: "INVALID_TYPE",
            message: unsupported_type(query.object.name),
        });
    }
    if let Some((object, field)) = query.feature_gated_field(features) {
        return Err(SoqlError {
            code: "INVALID_FIELD",
            message: no_such_column(field, object),
        });
    }
    Ok(query)
}

/// Salesforce's message for an object the org does not have.
fn unsupported_type(object: &str) -> String {
    format!(
        "sObject type '{object}' is not supported. If you are attempting to use a custom object, be sure to append the '__c' after the entity name. Please reference your WSDL or the describe call for the appropriate names."
    )
}

/// Salesforce's message for a field the object does not have.
fn no_such_column(field: &str, object: &str) -> String {
    format!("No such column '{field}' on sobject of type {object}")
}

/// Parses a Tooling API query (`/tooling/query`), over the tooling objects.
pub fn parse_tooling(text: &str) -> Result<Query, SoqlError> {
    parse_in(text, schema::tooling_object)
}

/// Resolves `Relationship.Field` on `object`, with Salesforce's messages for an unknown
/// relationship or parent field.
fn parent_field(
    p: &Parser<'_>,
    object: &ObjectDef,
    path: &str,
    at: usize,
) -> Result<ParentField, SoqlError> {
    let (relationship, field) = path.split_once('.').unwrap_or((path, ""));
    let Some(reference) = object.relationship(relationship) else {
        let message = format!(
            "Didn't understand relationship '{relationship}' in field path. If you are attempting to use a custom relationship, be sure to append the '__r' after the custom relationship name. Please reference your WSDL or the describe call for the appropriate names."
        );
        return Err(p.error_at(at, "INVALID_FIELD", &message));
    };
    let def = &object.fields[reference];
    let targets: Vec<&ObjectDef> = def
        .reference_to
        .iter()
        .filter_map(|name| schema::object(name))
        .collect();
    // A polymorphic relationship (a lead's `Owner`, a User or a Group) is the `Name`
    // entity: its few fields, each read from the record the id names (null where that
    // object lacks it).
    let resolved = if targets.len() > 1 {
        NAME_ENTITY_FIELDS
            .iter()
            .any(|known| known.eq_ignore_ascii_case(field))
            .then(|| {
                targets
                    .iter()
                    .find_map(|t| t.field_index(field).map(|i| t.fields[i].name))
            })
            .flatten()
    } else {
        targets
            .first()
            .and_then(|t| t.field_index(field).map(|i| t.fields[i].name))
            .filter(|_| targets.iter().all(|t| t.field_index(field).is_some()))
    };
    let Some(field_name) = resolved else {
        let entity = if targets.len() == 1 {
            targets.first().map_or("Name", |t| t.name)
        } else {
            "Name"
        };
        let message = format!(
            "No such column '{field}' on entity '{entity}'. If you are attempting to use a custom field, be sure to append the '__c' after the custom field name. Please reference your WSDL or the describe call for the appropriate names."
        );
        return Err(p.error_at(at, "INVALID_FIELD", &message));
    };
    Ok(ParentField {
        reference,
        relationship: def.relationship_name.unwrap_or("Parent"),
        field: field_name,
    })
}

fn parse_in(
    text: &str,
    lookup: fn(&str) -> Option<&'static ObjectDef>,
) -> Result<Query, SoqlError> {
    let tokens = lex(text)?;
    let mut p = Parser {
        query: text,
        tokens,
        pos: 0,
    };
    p.expect_keyword("SELECT")?;
    let items = p.select_items()?;
    p.expect_keyword("FROM")?;
    // `Group` and `Order` are keywords (GROUP BY, ORDER BY) and object names: after FROM
    // they are the object.
    let (object_name, object_at) = if p.is_keyword("Group") || p.is_keyword("Order") {
        match p.peek().clone() {
            Tok::Ident(name) => (name, p.advance()),
            _ => p.ident()?,
        }
    } else {
        p.ident()?
    };
    let condition = if p.is_keyword("WHERE") {
        p.advance();
        Some(p.or_cond()?)
    } else {
        None
    };
    let mut order = Vec::new();
    if p.is_keyword("ORDER") {
        p.advance();
        p.expect_keyword("BY")?;
        loop {
            let field = p.ident()?;
            let mut descending = false;
            if p.is_keyword("ASC") {
                p.advance();
            } else if p.is_keyword("DESC") {
                p.advance();
                descending = true;
            }
            // SOQL puts nulls first in ascending order and last in descending order.
            let mut nulls_first = !descending;
            if p.is_keyword("NULLS") {
                p.advance();
                if p.is_keyword("FIRST") {
                    nulls_first = true;
                } else if p.is_keyword("LAST") {
                    nulls_first = false;
                } else {
                    return Err(p.unexpected(p.pos));
                }
                p.advance();
            }
            order.push((field, descending, nulls_first));
            if *p.peek() == Tok::Comma {
                p.advance();
            } else {
                break;
            }
        }
    }
    let mut limit = None;
    if p.is_keyword("LIMIT") {
        p.advance();
        limit = Some(p.unsigned()?);
    }
    let mut offset = 0;
    if p.is_keyword("OFFSET") {
        p.advance();
        offset = p.unsigned()?;
    }
    if *p.peek() != Tok::Eof {
        return Err(p.unexpected(p.pos));
    }

    // Salesforce resolves the object before any field, so an unknown object wins.
    let unsupported = unsupported_type(&object_name);
    let Some(object) = lookup(&object_name) else {
        return Err(p.error_at(object_at, "INVALID_TYPE", &unsupported));
    };
    if !object.flags.queryable {
        let message = format!("entity type {} does not support query", object.name);
        return Err(p.error_at(object_at, "INVALID_TYPE", &message));
    }
    let resolve = |name: &str| -> Result<usize, SoqlError> {
        object.field_index(name).ok_or_else(|| SoqlError {
            code: "INVALID_FIELD",
            message: no_such_column(name, object.name),
        })
    };

    let mut columns = Vec::new();
    let selection = if items.iter().any(|i| matches!(i, RawItem::Count)) {
        if items.len() != 1 {
            return Err(malformed(positioned(
                text,
                &p.tokens,
                1,
                "COUNT() must be the only element in the SELECT list.",
            )));
        }
        Selection::Count
    } else if items.iter().any(|i| matches!(i, RawItem::CountOf(..))) {
        let mut aggregates = Vec::new();
        for (n, item) in items.iter().enumerate() {
            match item {
                RawItem::CountOf(field, alias) => {
                    let field = field.as_ref().map(|(name, _)| resolve(name)).transpose()?;
                    aggregates.push((field, alias.clone().unwrap_or_else(|| format!("expr{n}"))));
                }
                RawItem::Field(name, at) => {
                    let message = format!(
                        "Field must be grouped or aggregated: {}",
                        object
                            .field_index(name)
                            .map_or(name.as_str(), |i| object.fields[i].name)
                    );
                    return Err(p.error_at(*at, "MALFORMED_QUERY", &message));
                }
                RawItem::Count => {}
            }
        }
        Selection::Aggregates(aggregates)
    } else {
        let mut fields = Vec::new();
        for item in &items {
            let RawItem::Field(name, at) = item else {
                continue;
            };
            if name.contains('.') && object.field_index(name).is_none() {
                let parent = Column::Parent(parent_field(&p, object, name, *at)?);
                if columns.contains(&parent) {
                    let message = format!("duplicate field selected: {name}");
                    return Err(p.error_at(*at, "MALFORMED_QUERY", &message));
                }
                columns.push(parent);
                continue;
            }
            let index = resolve(name)?;
            if fields.contains(&index) {
                let message = format!("duplicate field selected: {}", object.fields[index].name);
                return Err(p.error_at(*at, "MALFORMED_QUERY", &message));
            }
            fields.push(index);
            columns.push(Column::Field(index));
        }
        Selection::Fields(fields)
    };

    let condition = condition.map(|c| compile(&p, object, &c)).transpose()?;
    // Salesforce refuses to list every file link of the org, counting included.
    if object.name == "ContentDocumentLink" {
        let filtered = condition
            .as_ref()
            .is_some_and(|c| filters_by_single_ids(object, c));
        if !filtered {
            return Err(malformed(
                "Implementation restriction: ContentDocumentLink requires a filter by a single Id on ContentDocumentId or LinkedEntityId using the equals operator or multiple Id's using the IN operator.".to_string(),
            ));
        }
    }
    // Salesforce reads article versions one publication state at a time (or by Id).
    if is_article_version(object.name) {
        let filtered = condition
            .as_ref()
            .is_some_and(|c| filters_article_versions(object, c));
        let nested = condition
            .as_ref()
            .is_some_and(|c| publish_status_nested(object, c, true));
        if !filtered || nested {
            return Err(malformed(format!(
                "Implementation restriction: When querying or searching the {} object, you must filter using the following syntax: Id = [single ID], Id IN [list of ID's] or PublishStatus = [status]. In addition PublishStatus is only permitted in a top-level AND condition.",
                object.name
            )));
        }
    }
    let mut keys = Vec::new();
    for ((name, at), descending, nulls_first) in order {
        let field = resolve(&name)?;
        if !object.fields[field].sortable() {
            let message = format!(
                "field '{}' can not be sorted in a query call",
                object.fields[field].name
            );
            return Err(p.error_at(at, "INVALID_FIELD", &message));
        }
        keys.push(OrderKey {
            field,
            descending,
            nulls_first,
        });
    }
    Ok(Query {
        object,
        selection,
        condition,
        order: keys,
        limit,
        offset,
        columns,
        all_rows: false,
    })
}

/// The field of a leaf condition.
fn leaf_field(raw: &RawCond) -> Option<&(String, usize)> {
    match raw {
        RawCond::Cmp { field, .. } | RawCond::In { field, .. } | RawCond::Like { field, .. } => {
            Some(field)
        }
        _ => None,
    }
}

/// The same leaf condition on another field name.
fn with_field(raw: &RawCond, name: &str, at: usize) -> Option<RawCond> {
    let field = (name.to_string(), at);
    Some(match raw {
        RawCond::Cmp { op, lit, .. } => RawCond::Cmp {
            field,
            op: *op,
            lit: lit.clone(),
        },
        RawCond::In { lits, negated, .. } => RawCond::In {
            field,
            lits: lits.clone(),
            negated: *negated,
        },
        RawCond::Like { pattern, .. } => RawCond::Like {
            field,
            pattern: pattern.clone(),
        },
        _ => return None,
    })
}

/// A leaf condition on `Relationship.Field`, compiled against the parent object.
fn compile_parent(
    p: &Parser<'_>,
    object: &ObjectDef,
    raw: &RawCond,
    (path, at): &(String, usize),
) -> Result<Cond, SoqlError> {
    let parent = parent_field(p, object, path, *at)?;
    let targets = object.fields[parent.reference].reference_to;
    let target = match targets {
        [one] => schema::object(one),
        _ => None,
    };
    let Some(target) = target else {
        let message = format!(
            "the simulator filters on fields of single-object relationships only, not {path}"
        );
        return Err(p.error_at(*at, "INVALID_FIELD", &message));
    };
    let inner = with_field(raw, parent.field, *at).ok_or_else(|| p.unexpected(*at))?;
    Ok(Cond::Parent {
        reference: parent.reference,
        object: target,
        cond: Box::new(compile(p, target, &inner)?),
    })
}

fn compile(p: &Parser<'_>, object: &ObjectDef, raw: &RawCond) -> Result<Cond, SoqlError> {
    if let Some(field) = leaf_field(raw)
        && field.0.contains('.')
        && object.field_index(&field.0).is_none()
    {
        return compile_parent(p, object, raw, field);
    }
    let field_of = |(name, at): &(String, usize)| -> Result<usize, SoqlError> {
        let index = object.field_index(name).ok_or_else(|| SoqlError {
            code: "INVALID_FIELD",
            message: no_such_column(name, object.name),
        })?;
        if !object.fields[index].filterable() {
            let message = format!(
                "field '{}' can not be filtered in a query call",
                object.fields[index].name
            );
            return Err(p.error_at(*at, "INVALID_FIELD", &message));
        }
        Ok(index)
    };
    Ok(match raw {
        RawCond::Cmp { field, op, lit } => {
            let index = field_of(field)?;
            let lit = typed_literal(p, object, index, lit)?;
            let ftype = object.fields[index].ftype;
            // Booleans have no order, so Salesforce accepts only = and != on them.
            if ftype == FieldType::Boolean && !matches!(op, CmpOp::Eq | CmpOp::Ne) {
                let message = format!(
                    "invalid operator on boolean field: {}",
                    object.fields[index].name
                );
                return Err(p.error_at(field.1, "INVALID_FIELD", &message));
            }
            Cond::Cmp {
                field: index,
                op: *op,
                lit,
            }
        }
        RawCond::In {
            field,
            lits,
            negated,
        } => {
            let index = field_of(field)?;
            let lits = lits
                .iter()
                .map(|l| typed_literal(p, object, index, l))
                .collect::<Result<_, _>>()?;
            Cond::In {
                field: index,
                lits,
                negated: *negated,
            }
        }
        RawCond::Like { field, pattern } => {
            let index = field_of(field)?;
            let ftype = object.fields[index].ftype;
            let Tok::Str(text) = &pattern.0 else {
                return Err(p.unexpected(pattern.1));
            };
            if !ftype.is_text() || matches!(ftype, FieldType::Id | FieldType::Reference) {
                let message = format!(
                    "invalid operator on {} field: {}",
                    ftype.name(),
                    object.fields[index].name
                );
                return Err(p.error_at(field.1, "INVALID_FIELD", &message));
            }
            Cond::Like {
                field: index,
                pattern: like_pattern(text),
            }
        }
        RawCond::And(parts) => Cond::And(
            parts
                .iter()
                .map(|c| compile(p, object, c))
                .collect::<Result<_, _>>()?,
        ),
        RawCond::Or(parts) => Cond::Or(
            parts
                .iter()
                .map(|c| compile(p, object, c))
                .collect::<Result<_, _>>()?,
        ),
        RawCond::Not(inner) => Cond::Not(Box::new(compile(p, object, inner)?)),
    })
}

/// Whether every row the condition admits has `ContentDocumentId` or `LinkedEntityId`
/// equal to (or IN) given ids, which Salesforce requires of ContentDocumentLink queries.
fn filters_by_single_ids(object: &ObjectDef, condition: &Cond) -> bool {
    let by_id = |field: usize| {
        matches!(
            object.fields[field].name,
            "ContentDocumentId" | "LinkedEntityId"
        )
    };
    match condition {
        Cond::Cmp {
            field,
            op: CmpOp::Eq,
            lit: Lit::Str(_),
        } => by_id(*field),
        Cond::In {
            field,
            negated: false,
            ..
        } => by_id(*field),
        Cond::And(parts) => parts.iter().any(|c| filters_by_single_ids(object, c)),
        _ => false,
    }
}

/// Whether `name` is a Knowledge article version object (`KnowledgeArticleVersion`, or an
/// article type's `*__kav`), which Salesforce queries only by publication state or Id.
pub fn is_article_version(name: &str) -> bool {
    name.eq_ignore_ascii_case("KnowledgeArticleVersion")
        || name.to_ascii_lowercase().ends_with("__kav")
}

/// Whether a condition on article versions has, at its top level (alone or in an AND),
/// `PublishStatus = [status]`, `Id = [single ID]` or `Id IN [list of IDs]`.
fn filters_article_versions(object: &ObjectDef, condition: &Cond) -> bool {
    let named = |field: usize, name: &str| object.fields[field].name.eq_ignore_ascii_case(name);
    match condition {
        Cond::Cmp {
            field,
            op: CmpOp::Eq,
            lit: Lit::Str(_),
        } => named(*field, "PublishStatus") || named(*field, "Id"),
        Cond::In {
            field,
            negated: false,
            ..
        } => named(*field, "Id"),
        Cond::And(parts) => parts.iter().any(|c| filters_article_versions(object, c)),
        _ => false,
    }
}

/// Whether `PublishStatus` appears anywhere but a top-level AND (under OR or NOT, or
/// compared otherwise than with `=`).
fn publish_status_nested(object: &ObjectDef, condition: &Cond, top: bool) -> bool {
    let status = |field: usize| {
        object.fields[field]
            .name
            .eq_ignore_ascii_case("PublishStatus")
    };
    match condition {
        Cond::Cmp { field, op, .. } => status(*field) && (!top || *op != CmpOp::Eq),
        Cond::In { field, .. } | Cond::Like { field, .. } => status(*field),
        Cond::And(parts) => parts.iter().any(|c| publish_status_nested(object, c, top)),
        Cond::Or(parts) => parts
            .iter()
            .any(|c| publish_status_nested(object, c, false)),
        Cond::Not(inner) => publish_status_nested(object, inner, false),
        Cond::Parent { .. } => false,
    }
}

/// Checks a literal against the field's type, as Salesforce does, and normalises it.
fn typed_literal(
    p: &Parser<'_>,
    object: &ObjectDef,
    index: usize,
    (tok, at): &(Tok, usize),
) -> Result<Lit, SoqlError> {
    let field = &object.fields[index];
    let ftype = field.ftype;
    let type_name = match ftype {
        FieldType::Datetime => "dateTime",
        FieldType::Currency | FieldType::Double => "double",
        FieldType::Int => "integer",
        FieldType::Boolean => "boolean",
        FieldType::Date => "date",
        _ => "string",
    };
    let wrong = |quoted: bool| {
        let hint = if quoted {
            "should not be enclosed in quotes"
        } else {
            "should be enclosed in quotes"
        };
        let message = format!(
            "value of filter criterion for field '{}' must be of type {type_name} and {hint}",
            field.name
        );
        p.error_at(*at, "INVALID_FIELD", &message)
    };
    Ok(match (tok, ftype) {
        (Tok::Ident(w), _) if w == "null" => Lit::Null,
        (Tok::Str(s), FieldType::Id | FieldType::Reference) => match ids::to_18(s) {
            Some(id) => Lit::Str(id),
            None => {
                return Err(SoqlError {
                    code: "INVALID_QUERY_FILTER_OPERATOR",
                    message: format!("invalid ID field: {s}"),
                });
            }
        },
        (Tok::Str(s), t) if t.is_text() => Lit::Str(s.to_lowercase()),
        (Tok::Str(_), _) => return Err(wrong(true)),
        (_, t) if t.is_text() => return Err(wrong(false)),
        (Tok::Num(n), t) if t.is_numeric() => Lit::Num(*n),
        (Tok::Ident(w), FieldType::Boolean) => Lit::Bool(w == "true"),
        (Tok::Date(d), FieldType::Date) => Lit::Date(*d),
        (Tok::DateTime(s), FieldType::Datetime) => Lit::DateTime(*s),
        _ => return Err(wrong(false)),
    })
}

fn like_pattern(text: &str) -> Vec<LikePart> {
    let mut parts = Vec::new();
    let mut literal = String::new();
    for ch in text.chars() {
        match ch {
            '%' | '_' => {
                if !literal.is_empty() {
                    parts.push(LikePart::Text(std::mem::take(&mut literal).to_lowercase()));
                }
                parts.push(if ch == '%' {
                    LikePart::Any
                } else {
                    LikePart::One
                });
            }
            other => literal.push(other),
        }
    }
    if !literal.is_empty() {
        parts.push(LikePart::Text(literal.to_lowercase()));
    }
    parts
}

fn like_matches(parts: &[LikePart], text: &str) -> bool {
    match parts.split_first() {
        None => text.is_empty(),
        Some((LikePart::Text(t), rest)) => text
            .strip_prefix(t.as_str())
            .is_some_and(|r| like_matches(rest, r)),
        Some((LikePart::One, rest)) => {
            let mut chars = text.chars();
            chars.next().is_some() && like_matches(rest, chars.as_str())
        }
        Some((LikePart::Any, rest)) => {
            if rest.is_empty() {
                return true;
            }
            text.char_indices()
                .map(|(i, _)| i)
                .chain([text.len()])
                .any(|i| like_matches(rest, &text[i..]))
        }
    }
}

/// Compares a record value with a literal; `None` when either is null or they differ
/// in kind. Text fields compare case-insensitively, ids exactly.
fn compare(value: &Val, lit: &Lit, ftype: FieldType) -> Option<Ordering> {
    match (value, lit) {
        (Val::Str(v), Lit::Str(l)) => {
            if matches!(ftype, FieldType::Id | FieldType::Reference) {
                Some(v.as_str().cmp(l.as_str()))
            } else {
                Some(v.to_lowercase().as_str().cmp(l.as_str()))
            }
        }
        (Val::Int(v), Lit::Num(l)) => (*v as f64).partial_cmp(l),
        (Val::Num(v), Lit::Num(l)) => v.partial_cmp(l),
        (Val::Bool(v), Lit::Bool(l)) => Some(v.cmp(l)),
        (Val::Date(v), Lit::Date(l)) => Some(v.cmp(l)),
        (Val::DateTime(v), Lit::DateTime(l)) => Some(v.cmp(l)),
        _ => None,
    }
}

fn equals(value: &Val, lit: &Lit, ftype: FieldType) -> bool {
    match (value, lit) {
        (Val::Null, Lit::Null) => true,
        (Val::Null, _) | (_, Lit::Null) => false,
        _ => compare(value, lit, ftype) == Some(Ordering::Equal),
    }
}

impl Cond {
    /// Whether a record (its values in schema order) satisfies the condition. Parent
    /// conditions see a missing parent; see [`Cond::matches_with`].
    pub fn matches(&self, object: &ObjectDef, record: &[Val]) -> bool {
        self.matches_with(object, record, &|_, _| None)
    }

    /// Whether a record satisfies the condition, finding parent records with `parent`.
    pub fn matches_with(&self, object: &ObjectDef, record: &[Val], parent: &ParentLookup) -> bool {
        match self {
            Cond::Cmp { field, op, lit } => {
                let value = &record[*field];
                let ftype = object.fields[*field].ftype;
                match op {
                    CmpOp::Eq => equals(value, lit, ftype),
                    // SOQL's != keeps rows whose value is null, unlike SQL.
                    CmpOp::Ne => !equals(value, lit, ftype),
                    CmpOp::Lt => compare(value, lit, ftype) == Some(Ordering::Less),
                    CmpOp::Gt => compare(value, lit, ftype) == Some(Ordering::Greater),
                    CmpOp::Le => matches!(
                        compare(value, lit, ftype),
                        Some(Ordering::Less | Ordering::Equal)
                    ),
                    CmpOp::Ge => matches!(
                        compare(value, lit, ftype),
                        Some(Ordering::Greater | Ordering::Equal)
                    ),
                }
            }
            Cond::In {
                field,
                lits,
                negated,
            } => {
                let ftype = object.fields[*field].ftype;
                let found = lits.iter().any(|l| equals(&record[*field], l, ftype));
                found != *negated
            }
            Cond::Like { field, pattern } => match &record[*field] {
                Val::Str(s) => like_matches(pattern, &s.to_lowercase()),
                _ => false,
            },
            Cond::And(parts) => parts.iter().all(|c| c.matches_with(object, record, parent)),
            Cond::Or(parts) => parts.iter().any(|c| c.matches_with(object, record, parent)),
            Cond::Not(inner) => !inner.matches_with(object, record, parent),
            Cond::Parent {
                reference,
                object: target,
                cond,
            } => {
                let values = record
                    .get(*reference)
                    .and_then(|id| parent(target, id))
                    .unwrap_or_else(|| vec![Val::Null; target.fields.len()]);
                cond.matches_with(target, &values, parent)
            }
        }
    }
}

/// Orders two values for ORDER BY: nulls apart, text case-insensitively.
pub fn order_values(a: &Val, b: &Val, key: &OrderKey) -> Ordering {
    let ordering = match (a, b) {
        (Val::Null, Val::Null) => return Ordering::Equal,
        (Val::Null, _) => {
            return if key.nulls_first {
                Ordering::Less
            } else {
                Ordering::Greater
            };
        }
        (_, Val::Null) => {
            return if key.nulls_first {
                Ordering::Greater
            } else {
                Ordering::Less
            };
        }
        (Val::Str(x), Val::Str(y)) => x
            .to_lowercase()
            .cmp(&y.to_lowercase())
            .then_with(|| x.cmp(y)),
        (Val::Int(x), Val::Int(y)) => x.cmp(y),
        (Val::Num(x), Val::Num(y)) => x.total_cmp(y),
        (Val::Bool(x), Val::Bool(y)) => x.cmp(y),
        (Val::Date(x), Val::Date(y)) | (Val::DateTime(x), Val::DateTime(y)) => x.cmp(y),
        _ => Ordering::Equal,
    };
    if key.descending {
        ordering.reverse()
    } else {
        ordering
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn article_versions_are_queried_only_by_publication_state_or_id() {
        let refused = err("SELECT Id, Title FROM Knowledge__kav");
        assert_eq!(refused.code, "MALFORMED_QUERY");
        assert!(
            refused.message.starts_with(
                "Implementation restriction: When querying or searching the Knowledge__kav object, you must filter using the following syntax"
            ),
            "{}",
            refused.message
        );
        assert_eq!(
            err("SELECT COUNT() FROM Knowledge__kav WHERE IsDeleted = false").code,
            "MALFORMED_QUERY"
        );
        assert_eq!(
            err(
                "SELECT Id FROM Knowledge__kav WHERE PublishStatus = 'Online' OR IsDeleted = false"
            )
            .code,
            "MALFORMED_QUERY"
        );
        assert_eq!(
            err(
                "SELECT Id FROM Knowledge__kav WHERE PublishStatus = 'Online' AND IsDeleted = false"
            )
            .code,
            "OK"
        );
        assert_eq!(
            err("SELECT Id FROM Knowledge__kav WHERE Id IN ('ka0000000000001AAA')").code,
            "OK"
        );
        // The rule is the article version's own: its data categories read freely.
        assert_eq!(
            err("SELECT Id FROM Knowledge__DataCategorySelection WHERE Parent.PublishStatus = 'Online'")
                .code,
            "OK"
        );
    }

    fn err(q: &str) -> SoqlError {
        match parse(q) {
            Ok(_) => SoqlError {
                code: "OK",
                message: String::new(),
            },
            Err(e) => e,
        }
    }

    #[test]
    fn invalid_type_matches_recorded_messages() {
        let e = err("SELECT Xyzzy FROM Xyzzy");
        assert_eq!(e.code, "INVALID_TYPE");
        assert!(e.message.starts_with("\nSELECT Xyzzy FROM Xyzzy\n                  ^\nERROR at Row:1:Column:19\nsObject type 'Xyzzy' is not supported."));
        let e = err("SELECT Id, FirstName, LastName FROM XYZZY");
        assert!(e.message.starts_with("\nSELECT Id, FirstName, LastName FROM XYZZY\n                                    ^\nERROR at Row:1:Column:37\n"), "{}", e.message);
        let e = err("SELECT Id,Name,BillingCity,IsDeleted FROM Accout");
        assert!(e.message.starts_with("\nName,BillingCity,IsDeleted FROM Accout\n                                ^\nERROR at Row:1:Column:43\n"), "{}", e.message);
    }

    #[test]
    fn order_and_group_after_from_are_objects() -> Result<(), SoqlError> {
        let q = parse("SELECT Id FROM Order ORDER BY OrderNumber DESC LIMIT 2")?;
        assert_eq!(q.object.name, "Order");
        assert_eq!(q.order.len(), 1);
        assert_eq!(q.limit, Some(2));
        assert_eq!(parse("SELECT COUNT() FROM order")?.object.name, "Order");
        assert_eq!(parse("SELECT Id FROM Group")?.object.name, "Group");
        Ok(())
    }

    #[test]
    fn parses_the_subset() -> Result<(), SoqlError> {
        let q = parse(
            "select id, NAME from account where (Name like 'a%' or NumberOfEmployees >= 10) and not Type in ('Other', null) and CreatedDate > 2020-01-01T00:00:00Z and Customer_Since__c <= 2024-01-31 order by Name desc nulls last limit 5 offset 2",
        )?;
        assert_eq!(q.object.name, "Account");
        assert!(matches!(q.selection, Selection::Fields(ref f) if f.len() == 2));
        assert_eq!(q.limit, Some(5));
        assert_eq!(q.offset, 2);
        assert!(!q.index_ordered());
        let q = parse("SELECT COUNT() FROM Contact WHERE Email = 'it''s' OR Email = 'it\\'s'");
        assert!(q.is_err(), "doubled quotes are not SOQL");
        let q = parse(
            "SELECT COUNT() FROM Contact WHERE Email != 'it\\'s' AND CreatedDate < 2024-01-31T00:00:00.000+0000",
        )?;
        assert!(matches!(q.selection, Selection::Count));
        Ok(())
    }

    #[test]
    fn reports_salesforce_error_codes() {
        assert_eq!(
            err("SELECT AccountNumer FROM Account").message,
            "No such column 'AccountNumer' on sobject of type Account"
        );
        assert_eq!(
            err("SELECT AccountNumer FROM Account").code,
            "INVALID_FIELD"
        );
        assert_eq!(err("SELECT Id FRM Account").code, "MALFORMED_QUERY");
        assert_eq!(err("SELECT Id FROM Account WHERE").code, "MALFORMED_QUERY");
        assert_eq!(
            err("SELECT Id FROM Account LIMIT x").code,
            "MALFORMED_QUERY"
        );
        assert_eq!(err("SELECT Id, id FROM Account").code, "MALFORMED_QUERY");
        assert_eq!(
            err("SELECT Id FROM Account WHERE NumberOfEmployees = '5'").code,
            "INVALID_FIELD"
        );
        assert_eq!(
            err("SELECT Id FROM Account WHERE Name = 5").code,
            "INVALID_FIELD"
        );
        assert_eq!(
            err("SELECT Id FROM Account WHERE Description = 'x'").code,
            "INVALID_FIELD"
        );
        assert_eq!(
            err("SELECT Id FROM AccountChangeEvent").code,
            "INVALID_TYPE"
        );
        assert_eq!(
            err("SELECT Id FROM Account WHERE Id = 'nope'").code,
            "INVALID_QUERY_FILTER_OPERATOR"
        );
    }

    #[test]
    fn parent_fields_resolve_through_relationships() -> Result<(), SoqlError> {
        let q = parse("SELECT Id, Account.Name, owner.email, AccountId FROM Contact")?;
        let account = q.object.field_index("AccountId").unwrap_or(0);
        let owner = q.object.field_index("OwnerId").unwrap_or(0);
        assert!(matches!(q.selection, Selection::Fields(ref f) if *f == [0, account]));
        assert_eq!(
            q.columns,
            [
                Column::Field(0),
                Column::Parent(ParentField {
                    reference: account,
                    relationship: "Account",
                    field: "Name",
                }),
                Column::Parent(ParentField {
                    reference: owner,
                    relationship: "Owner",
                    field: "Email",
                }),
                Column::Field(account),
            ]
        );
        assert!(!q.all_rows);
        // Polymorphic: a field every target has.
        parse("SELECT Who.Name, Who.Email, What.Name FROM Task")?;
        let e = err("SELECT Who.Company FROM Task");
        assert_eq!(e.code, "INVALID_FIELD");
        assert!(
            e.message
                .contains("No such column 'Company' on entity 'Name'")
        );
        let e = err("SELECT Id, Acount.Name FROM Contact");
        assert_eq!(
            e.message,
            "\nSELECT Id, Acount.Name FROM Contact\n           ^\nERROR at Row:1:Column:12\nDidn't understand relationship 'Acount' in field path. If you are attempting to use a custom relationship, be sure to append the '__r' after the custom relationship name. Please reference your WSDL or the describe call for the appropriate names."
        );
        let e = err("SELECT Account.Nme FROM Contact");
        assert_eq!(e.code, "INVALID_FIELD");
        assert!(
            e.message
                .contains("\nERROR at Row:1:Column:8\nNo such column 'Nme' on entity 'Account'.")
        );
        assert_eq!(
            err("SELECT Account.Name, account.name FROM Contact").code,
            "MALFORMED_QUERY"
        );
        // Custom relationships end in __r.
        parse("SELECT Key_Contact__r.Email FROM Account LIMIT 1")?;
        parse("SELECT Account__r.Name FROM Project__c")?;
        assert_eq!(
            err("SELECT Account__r.Name FROM Account").code,
            "INVALID_FIELD"
        );
        Ok(())
    }

    #[test]
    fn content_document_links_need_an_id_filter() {
        let e = err("SELECT Id, LinkedEntityId FROM ContentDocumentLink");
        assert_eq!(e.code, "MALFORMED_QUERY");
        assert!(
            e.message
                .starts_with("Implementation restriction: ContentDocumentLink")
        );
        assert_eq!(
            err("SELECT Id FROM ContentDocumentLink WHERE ShareType = 'V'").code,
            "MALFORMED_QUERY"
        );
        assert_eq!(
            err("SELECT Id FROM ContentDocumentLink WHERE LinkedEntityId != '001Dn0000000001AAA'")
                .code,
            "MALFORMED_QUERY"
        );
        assert!(
            parse("SELECT Id FROM ContentDocumentLink WHERE LinkedEntityId = '001Dn0000000001AAA'")
                .is_ok()
        );
        assert!(parse(
            "SELECT Id FROM ContentDocumentLink WHERE ShareType = 'V' AND ContentDocumentId IN ('069Dn0000000001AAA', '069Dn0000000002AAA')"
        )
        .is_ok());
        assert_eq!(
            err("SELECT COUNT() FROM ContentDocumentLink").code,
            "MALFORMED_QUERY"
        );
    }

    #[test]
    fn parent_fields_filter() -> Result<(), SoqlError> {
        let q = parse(
            "SELECT Id FROM Contact WHERE Account.Name LIKE 'A%' AND NOT Owner.IsActive = false",
        )?;
        let Some(Cond::And(parts)) = &q.condition else {
            panic!("{:?}", q.condition);
        };
        assert!(matches!(&parts[0], Cond::Parent { object, .. } if object.name == "Account"));
        let e = err("SELECT Id FROM Contact WHERE Account.NumberOfEmployees = 'x'");
        assert_eq!(e.code, "INVALID_FIELD");
        assert!(
            e.message
                .contains("'NumberOfEmployees' must be of type integer")
        );
        assert_eq!(
            err("SELECT Id FROM Contact WHERE Acount.Name = 'x'").code,
            "INVALID_FIELD"
        );
        assert_eq!(
            err("SELECT Id FROM Task WHERE Who.Name = 'x'").code,
            "INVALID_FIELD"
        );
        // Without a way to find parents, every parent is missing.
        let values = vec![Val::Null; q.object.fields.len()];
        let cond = parse("SELECT Id FROM Contact WHERE Account.Name = null")?.condition;
        assert!(cond.is_some_and(|c| c.matches(q.object, &values)));
        Ok(())
    }

    #[test]
    fn tooling_objects_are_separate_from_data_objects() {
        assert!(parse_tooling("SELECT Id, Name FROM ApexClass WHERE Status = 'Active'").is_ok());
        assert!(parse_tooling("SELECT COUNT() FROM flowdefinitionview").is_ok());
        assert_eq!(err("SELECT Id FROM ApexClass").code, "INVALID_TYPE");
        assert!(parse_tooling("SELECT Id FROM Account").is_err_and(|e| e.code == "INVALID_TYPE"));
    }

    #[test]
    fn new_field_types_filter_as_salesforce_does() {
        assert!(
            parse("SELECT Id FROM Opportunity WHERE Probability >= 50 AND CloseDate < 2024-01-01")
                .is_ok()
        );
        assert!(
            parse("SELECT Id FROM Task WHERE Subject LIKE 'Call%' AND ActivityDate = null").is_ok()
        );
        assert_eq!(
            err("SELECT Id FROM Attachment WHERE Body = 'x'").code,
            "INVALID_FIELD"
        );
        assert_eq!(
            err("SELECT Id FROM EmailMessage WHERE TextBody = 'x'").code,
            "INVALID_FIELD"
        );
        assert_eq!(
            err("SELECT Id FROM Opportunity WHERE Amount = '5'").message,
            "\nSELECT Id FROM Opportunity WHERE Amount = '5'\n                                          ^\nERROR at Row:1:Column:43\nvalue of filter criterion for field 'Amount' must be of type double and should not be enclosed in quotes"
        );
    }

    #[test]
    fn like_and_dates() {
        let p = like_pattern("M_ller%GmbH");
        assert!(like_matches(&p, "müller & söhne gmbh"));
        assert!(!like_matches(&p, "miller"));
        assert_eq!(
            number_or_date("2021-03-04T10:11:12Z"),
            Some(Tok::DateTime(1_614_852_672))
        );
        assert_eq!(
            number_or_date("2021-03-04T11:11:12+01:00"),
            Some(Tok::DateTime(1_614_852_672))
        );
        assert_eq!(
            number_or_date("2021-03-04T11:11:12.000+0100"),
            Some(Tok::DateTime(1_614_852_672))
        );
        assert_eq!(number_or_date("-12.5"), Some(Tok::Num(-12.5)));
    }
}
