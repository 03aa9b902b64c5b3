//! Proposals for custom fields that resemble a standard destination field.
//!
//! Orgs often keep data a standard field could hold in custom fields of their own:
//! `Mobile_Phone__c`, `Company_Website__c`, `Num_Employees__c`. Left alone, each becomes a
//! destination custom field; [`propose`] suggests the standard field instead, with a
//! confidence between 0 and 1 and the reason in words, for the plan to show and the user to
//! confirm (as a field override, [`ferry_model::mapping::MapOverrides::set_field`]) or ignore.
//! Nothing is mapped without that confirmation.
//!
//! How a field is read: its API name loses the `__c` suffix and any namespace prefix
//! (`acme__Mobile_Phone__c` reads as `Mobile_Phone`), then it and the label are split into
//! lowercase words at underscores, spaces, punctuation, camelCase and digits. Each word is
//! compared with the words of every standard field of the entity: equal, close (Jaro-Winkler
//! similarity, for plurals and typos), an abbreviation (`emp` for `employee`), or a synonym
//! from a small table (`mobile` and `cell` mean the phone, `turnover` the annual revenue,
//! `headcount` the employee count...). Filler words (`number`, `of`, the entity's own name)
//! do not count; qualifiers (`secondary`, `other`, `home`) count half against the match;
//! words that change what the field holds (`code`, `id`, `score`, `status`, `domain`,
//! `extension`...) rule the field out. The confidence is the share of the target's words the
//! field covers times the share of the field's words that match the target.
//!
//! A target is proposed only when the field's type can fill it (an email field only an email
//! target, a number only a numeric one, a text field any text-like one at a lower
//! confidence), only above [`THRESHOLD`], and never when the map already fills it.

use ferry_model::mapping::{EntityKind, ObjectMap};
use ferry_model::model::{FieldDescription, FieldType, ObjectDescription};
use serde::Serialize;
use std::collections::BTreeSet;

/// Proposals below this confidence are not made.
pub(crate) const THRESHOLD: f32 = 0.6;

/// A standard field a custom field could fill, for the user to confirm.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Proposal {
    /// The destination standard field, as [`EntityKind::standard_fields`] names it.
    pub target: &'static str,
    /// From [`THRESHOLD`] to 1.
    pub confidence: f32,
    /// Why, in a sentence.
    pub reason: String,
}

/// A proposal for one field of an object.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FieldProposal {
    /// The Salesforce field.
    pub field: String,
    #[serde(flatten)]
    pub proposal: Proposal,
}

/// The standard field of `entity` that `field` most resembles, if any does closely enough
/// and is not among `used_targets` (the targets the map already fills for the object).
pub(crate) fn propose(
    entity: EntityKind,
    field: &FieldDescription,
    used_targets: &BTreeSet<&str>,
) -> Option<Proposal> {
    let name_words = name_words(&field.name);
    let label_words = words(&field.label);
    let mut best: Option<Proposal> = None;
    for target in entity.standard_fields() {
        if used_targets.contains(target) {
            continue;
        }
        let Some(type_factor) = type_factor(&field.field_type, field.scale, target_kind(target))
        else {
            continue;
        };
        let candidates = [
            ("name", field.name.as_str(), &name_words),
            ("label", field.label.as_str(), &label_words),
        ];
        for (source, text, words) in candidates {
            let Some(resemblance) = resemblance(entity, target, words) else {
                continue;
            };
            // Two decimals are all the precision a similarity score has, and all a reader needs.
            let confidence =
                ((resemblance.score * type_factor).clamp(0.0, 1.0) * 100.0).round() / 100.0;
            if confidence < THRESHOLD
                || best
                    .as_ref()
                    .is_some_and(|best| best.confidence >= confidence)
            {
                continue;
            }
            let mut reason = format!(
                "its {source} `{text}` resembles {entity}.{target}: {}",
                resemblance.explanation.join(", ")
            );
            if type_factor < 1.0 {
                reason.push_str(
                    "; it is a text field, so its values are not checked for that kind of data",
                );
            }
            best = Some(Proposal {
                target,
                confidence,
                reason,
            });
        }
    }
    best
}

/// Proposals for the custom fields of one object that its map does not name, at most one
/// field per target: when several fields resemble one target, the most confident (then the
/// first in the describe) keeps it. In the describe's order.
pub(crate) fn propose_for_object(
    object_map: &ObjectMap,
    description: &ObjectDescription,
) -> Vec<FieldProposal> {
    let used_targets = object_map.used_targets();
    let mut candidates: Vec<(usize, FieldProposal)> = description
        .fields
        .iter()
        .enumerate()
        .filter(|(_, field)| field.custom && !object_map.maps_source(&field.name))
        .filter_map(|(index, field)| {
            propose(object_map.entity, field, &used_targets).map(|proposal| {
                (
                    index,
                    FieldProposal {
                        field: field.name.clone(),
                        proposal,
                    },
                )
            })
        })
        .collect();
    candidates.sort_by(|(left_index, left), (right_index, right)| {
        right
            .proposal
            .confidence
            .total_cmp(&left.proposal.confidence)
            .then(left_index.cmp(right_index))
    });
    let mut taken = BTreeSet::new();
    candidates.retain(|(_, candidate)| taken.insert(candidate.proposal.target));
    candidates.sort_by_key(|(index, _)| *index);
    candidates
        .into_iter()
        .map(|(_, candidate)| candidate)
        .collect()
}

/// What kind of value a standard field holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum TargetKind {
    Text,
    LongText,
    Email,
    Phone,
    Url,
    WholeNumber,
    Decimal,
    DateTime,
}

fn target_kind(target: &str) -> TargetKind {
    match target {
        "email" => TargetKind::Email,
        "phone" | "mobile_phone" => TargetKind::Phone,
        "website" => TargetKind::Url,
        "employee_count" => TargetKind::WholeNumber,
        "annual_revenue" => TargetKind::Decimal,
        "description" => TargetKind::LongText,
        "created_at" | "updated_at" => TargetKind::DateTime,
        _ => TargetKind::Text,
    }
}

/// Whether a field of `field_type` can fill a target of `kind`, and how much that lowers the
/// confidence: a plain text field may hold anything, so it fills an email, phone or URL target
/// only at a discount.
fn type_factor(field_type: &FieldType, scale: u32, kind: TargetKind) -> Option<f32> {
    use FieldType as Source;
    use TargetKind as Target;
    match (field_type, kind) {
        (Source::Email, Target::Email)
        | (Source::Phone, Target::Phone)
        | (Source::Url, Target::Url)
        | (Source::String | Source::Combobox | Source::Picklist, Target::Text)
        | (Source::String | Source::Combobox | Source::TextArea, Target::LongText)
        | (Source::Int | Source::Long, Target::WholeNumber | Target::Decimal)
        | (Source::Double | Source::Currency, Target::Decimal)
        | (Source::DateTime, Target::DateTime) => Some(1.0),
        (Source::Double, Target::WholeNumber) if scale == 0 => Some(1.0),
        (Source::String | Source::Combobox, Target::Email | Target::Phone | Target::Url) => {
            Some(0.9)
        }
        _ => None,
    }
}

/// Words that say nothing about what a field holds.
const FILLER: &[&str] = &[
    "c", "of", "the", "a", "an", "no", "nr", "nbr", "num", "number", "field", "value", "custom",
    "address", "date", "time", "on", "eur", "usd", "gbp", "chf",
];

/// Words that narrow what a field holds without changing its kind.
const QUALIFIERS: &[&str] = &[
    "secondary",
    "second",
    "primary",
    "main",
    "other",
    "alt",
    "alternate",
    "alternative",
    "additional",
    "personal",
    "private",
    "work",
    "home",
    "office",
    "direct",
    "business",
    "preferred",
    "current",
    "original",
    "legacy",
];

/// Words that make a field something else than the target it otherwise resembles:
/// `Industry_Code__c` is not the industry, `Email_Domain__c` is not an email.
const VETOES: &[&str] = &[
    "id",
    "code",
    "key",
    "score",
    "rating",
    "status",
    "type",
    "stage",
    "source",
    "flag",
    "reason",
    "domain",
    "extension",
    "ext",
    "prefix",
    "format",
    "verified",
    "valid",
    "opt",
    "bounced",
    "country",
    "range",
    "band",
    "growth",
];

/// Words that stand for a standard field, with the targets they stand for in order of
/// preference: the first the entity has is the one meant.
const SYNONYMS: &[(&[&str], &[&str])] = &[
    (
        &["mobile", "cell", "cellphone", "cellular", "mobilephone"],
        &["mobile_phone", "phone"],
    ),
    (&["telephone", "tel", "phonenumber"], &["phone"]),
    (&["email", "mail", "emailaddress"], &["email"]),
    (
        &[
            "web", "website", "site", "url", "homepage", "www", "webpage",
        ],
        &["website"],
    ),
    (
        &["employees", "headcount", "staff", "fte", "workforce"],
        &["employee_count"],
    ),
    (&["revenue", "turnover"], &["annual_revenue"]),
    (&["job", "title", "position", "jobtitle"], &["job_title"]),
    (&["sector", "vertical"], &["industry"]),
    (&["about", "summary", "overview"], &["description"]),
    (&["firstname", "forename", "given"], &["first_name"]),
    (&["lastname", "surname"], &["last_name"]),
];

/// Words of a target that any field may leave out (`created_at` is about `created`).
const TARGET_FILLER: &[&str] = &["at"];

/// The words of an API name: without its `__c` suffix and namespace prefix.
fn name_words(api_name: &str) -> Vec<String> {
    let base = api_name
        .strip_suffix("__c")
        .or_else(|| api_name.strip_suffix("__C"))
        .unwrap_or(api_name);
    let base = base.split_once("__").map_or(base, |(_, rest)| rest);
    words(base)
}

/// Lowercase words, split at anything not a letter or digit, at camelCase and at digits;
/// `e mail`, `web site` and `head count` are joined back into one word.
fn words(text: &str) -> Vec<String> {
    let characters: Vec<char> = text.chars().collect();
    let mut split: Vec<String> = Vec::new();
    let mut current = String::new();
    for (index, &character) in characters.iter().enumerate() {
        if !character.is_alphanumeric() {
            if !current.is_empty() {
                split.push(std::mem::take(&mut current));
            }
            continue;
        }
        let previous = index
            .checked_sub(1)
            .and_then(|previous| characters.get(previous))
            .copied()
            .filter(|_| !current.is_empty());
        if let Some(previous) = previous {
            let next = characters.get(index + 1).copied();
            let boundary = (previous.is_lowercase() && character.is_uppercase())
                || (previous.is_alphabetic() != character.is_alphabetic())
                || (previous.is_uppercase()
                    && character.is_uppercase()
                    && next.is_some_and(char::is_lowercase));
            if boundary {
                split.push(std::mem::take(&mut current));
            }
        }
        current.extend(character.to_lowercase());
    }
    if !current.is_empty() {
        split.push(current);
    }
    let mut joined: Vec<String> = Vec::new();
    for word in split {
        let merged = joined
            .last()
            .and_then(|previous| match (previous.as_str(), word.as_str()) {
                ("e", "mail") => Some("email"),
                ("web", "site") => Some("website"),
                ("head", "count") => Some("headcount"),
                _ => None,
            });
        match merged {
            Some(merged) => {
                joined.pop();
                joined.push(merged.to_owned());
            }
            None => joined.push(word),
        }
    }
    joined
}

/// How well some words resemble a target, and why.
struct Resemblance {
    score: f32,
    explanation: Vec<String>,
}

/// How one word relates to a target.
#[derive(Debug, Clone, Copy, PartialEq)]
enum WordMatch {
    Exact,
    Close(f32),
    Abbreviation,
    Synonym,
}

impl WordMatch {
    fn quality(self) -> f32 {
        match self {
            Self::Exact => 1.0,
            Self::Close(similarity) => similarity.min(0.95),
            Self::Abbreviation => 0.8,
            Self::Synonym => 0.9,
        }
    }
}

fn synonym_target(entity: EntityKind, word: &str) -> Option<&'static str> {
    SYNONYMS
        .iter()
        .find(|(words, _)| words.contains(&word))
        .and_then(|(_, targets)| {
            targets
                .iter()
                .find(|target| entity.has_field(target))
                .copied()
        })
}

/// How `word` matches one word of a target.
fn match_word(word: &str, target_word: &str) -> Option<WordMatch> {
    if word == target_word {
        return Some(WordMatch::Exact);
    }
    if word.len() >= 4 && target_word.len() >= 4 {
        let similarity = jaro_winkler(word, target_word);
        if similarity >= 0.9 {
            return Some(WordMatch::Close(similarity));
        }
    }
    if word.len() >= 3 && target_word.starts_with(word) {
        return Some(WordMatch::Abbreviation);
    }
    None
}

/// The words that name the entity itself: a company's `Company_Website__c` is its website.
fn entity_words(entity: EntityKind) -> &'static [&'static str] {
    match entity {
        EntityKind::Company => &["company", "account", "organisation", "organization", "org"],
        EntityKind::Contact => &["contact", "person"],
        EntityKind::Owner => &["owner", "user"],
        EntityKind::Opportunity => &["opportunity", "deal"],
        EntityKind::Stage => &["stage"],
        EntityKind::ContactRole => &["role"],
        EntityKind::Task => &["task", "activity"],
        EntityKind::Event => &["event", "meeting"],
        EntityKind::Attendee => &["attendee"],
        EntityKind::Note => &["note"],
        EntityKind::File => &["file", "attachment"],
        EntityKind::Conversation => &["email", "message", "conversation"],
        EntityKind::CustomRecord => &["record"],
        EntityKind::Team => &["team", "queue", "group"],
        EntityKind::Product => &["product"],
        EntityKind::PriceBook => &["pricebook"],
        EntityKind::PriceBookEntry => &["entry"],
        EntityKind::LineItem => &["item", "line"],
        EntityKind::Campaign => &["campaign"],
        EntityKind::CampaignMember => &["member"],
        EntityKind::FileLink => &["link", "share"],
        EntityKind::Contract => &["contract"],
        EntityKind::Order => &["order"],
        EntityKind::OrderItem => &["order", "item"],
        EntityKind::Quote => &["quote"],
        EntityKind::QuoteLineItem => &["quote", "line"],
        EntityKind::Asset => &["asset"],
        EntityKind::Series => &["series", "recurrence"],
        EntityKind::Case => &["case", "ticket", "support"],
        EntityKind::CaseComment => &["comment"],
        EntityKind::KnowledgeArticle => &["article", "knowledge", "faq"],
        EntityKind::ArticleCategory => &["category"],
        EntityKind::AccountContactRelation => &["relation", "relationship"],
    }
}

fn resemblance(entity: EntityKind, target: &'static str, words: &[String]) -> Option<Resemblance> {
    let target_words: Vec<&str> = target
        .split('_')
        .filter(|word| !TARGET_FILLER.contains(word))
        .collect();
    let mut explanation = Vec::new();
    let mut covered = vec![0.0_f32; target_words.len()];
    let mut matched_weight = 0.0_f32;
    let mut total_weight = 0.0_f32;
    for word in words {
        let word = word.as_str();
        let mut best: Option<(WordMatch, Option<&str>)> = None;
        let mut consider = |found: WordMatch, target_word: Option<&'static str>| {
            if best.is_none_or(|(current, _)| found.quality() > current.quality()) {
                best = Some((found, target_word));
            }
        };
        // A synonym stands for the whole target, so it covers every word of it.
        if synonym_target(entity, word) == Some(target) {
            consider(WordMatch::Synonym, None);
            for coverage in &mut covered {
                *coverage = coverage.max(WordMatch::Synonym.quality());
            }
        }
        for (index, &target_word) in target_words.iter().enumerate() {
            if let Some(found) = match_word(word, target_word) {
                covered[index] = covered[index].max(found.quality());
                consider(found, Some(target_word));
            }
        }
        match best {
            Some((found, target_word)) => {
                matched_weight += found.quality();
                total_weight += 1.0;
                let target_word = target_word.unwrap_or(target);
                explanation.push(match found {
                    WordMatch::Exact => format!("`{word}` matches"),
                    WordMatch::Close(_) => format!("`{word}` is close to `{target_word}`"),
                    WordMatch::Abbreviation => format!("`{word}` abbreviates `{target_word}`"),
                    WordMatch::Synonym => format!("`{word}` means {target}"),
                });
            }
            None if VETOES.contains(&word) => return None,
            None if FILLER.contains(&word)
                || entity_words(entity).contains(&word)
                || word.chars().all(|character| character.is_ascii_digit()) => {}
            None if QUALIFIERS.contains(&word) => {
                total_weight += 0.5;
                explanation.push(format!("`{word}` qualifies it"));
            }
            None => {
                total_weight += 1.0;
                explanation.push(format!("`{word}` does not match"));
            }
        }
    }
    if total_weight == 0.0 || target_words.is_empty() {
        return None;
    }
    let field_share = matched_weight / total_weight;
    let target_share = covered.iter().sum::<f32>() / covered.len() as f32;
    let mut score = field_share * target_share;

    // Words run together (`Jobtitle__c`) resemble the target's words run together.
    let joined: String = words
        .iter()
        .map(String::as_str)
        .filter(|word| !FILLER.contains(word) && !entity_words(entity).contains(word))
        .collect();
    let target_joined: String = target_words.concat();
    let joined_similarity = jaro_winkler(&joined, &target_joined);
    if joined.len() >= 4 && joined_similarity >= 0.92 && joined_similarity > score {
        score = joined_similarity;
        explanation = vec![format!("`{joined}` reads as `{target_joined}`")];
    }
    Some(Resemblance { score, explanation })
}

/// The Jaro-Winkler similarity of two words, from 0 (nothing in common) to 1 (equal).
fn jaro_winkler(left: &str, right: &str) -> f32 {
    let left: Vec<char> = left.chars().collect();
    let right: Vec<char> = right.chars().collect();
    if left.is_empty() || right.is_empty() {
        return if left == right { 1.0 } else { 0.0 };
    }
    let window = (left.len().max(right.len()) / 2).saturating_sub(1);
    let mut left_matched = vec![false; left.len()];
    let mut right_matched = vec![false; right.len()];
    let mut matches = 0_usize;
    for (left_index, left_char) in left.iter().enumerate() {
        let start = left_index.saturating_sub(window);
        let end = (left_index + window + 1).min(right.len());
        for right_index in start..end {
            if !right_matched[right_index] && right[right_index] == *left_char {
                left_matched[left_index] = true;
                right_matched[right_index] = true;
                matches += 1;
                break;
            }
        }
    }
    if matches == 0 {
        return 0.0;
    }
    let left_in_order = left
        .iter()
        .zip(&left_matched)
        .filter(|(_, matched)| **matched)
        .map(|(character, _)| character);
    let right_in_order = right
        .iter()
        .zip(&right_matched)
        .filter(|(_, matched)| **matched)
        .map(|(character, _)| character);
    let transpositions = left_in_order
        .zip(right_in_order)
        .filter(|(left_char, right_char)| left_char != right_char)
        .count()
        / 2;
    let matches = matches as f32;
    let jaro = (matches / left.len() as f32
        + matches / right.len() as f32
        + (matches - transpositions as f32) / matches)
        / 3.0;
    let prefix = left
        .iter()
        .zip(&right)
        .take(4)
        .take_while(|(left_char, right_char)| left_char == right_char)
        .count() as f32;
    jaro + prefix * 0.1 * (1.0 - jaro)
}

#[cfg(test)]
mod tests {
    use super::*;
    use FieldType::{
        Boolean, Currency, DateTime, Double, Email, Int, Percent, Phone, Picklist, String, Url,
    };
    use ferry_model::mapping::FieldMap;

    fn field(name: &str, label: &str, field_type: FieldType) -> FieldDescription {
        FieldDescription {
            name: name.to_owned(),
            label: label.to_owned(),
            field_type,
            custom: true,
            nillable: true,
            calculated: false,
            length: 255,
            precision: 18,
            scale: 0,
            reference_to: Vec::new(),
            relationship_name: None,
            compound_field_name: None,
            picklist_values: Vec::new(),
        }
    }

    /// The target proposed for a custom field when the map fills nothing yet.
    fn proposed(
        entity: EntityKind,
        name: &str,
        label: &str,
        field_type: FieldType,
    ) -> Option<Proposal> {
        propose(entity, &field(name, label, field_type), &BTreeSet::new())
    }

    #[test]
    fn realistic_custom_fields_get_the_standard_field_they_resemble() {
        use EntityKind::{Company, Contact};
        let table: &[(EntityKind, &str, &str, FieldType, Option<&str>)] = &[
            (
                Contact,
                "Mobile_Phone__c",
                "Mobile Phone",
                Phone,
                Some("phone"),
            ),
            (Contact, "Cell__c", "Cell", Phone, Some("phone")),
            (
                Contact,
                "acme__MobilePhone__c",
                "Mobile",
                Phone,
                Some("phone"),
            ),
            (
                Contact,
                "Job_Title__c",
                "Job Title",
                String,
                Some("job_title"),
            ),
            (
                Contact,
                "Position__c",
                "Position",
                Picklist,
                Some("job_title"),
            ),
            (
                Contact,
                "Jobtitle__c",
                "Jobtitle",
                String,
                Some("job_title"),
            ),
            (
                Contact,
                "Secondary_Email__c",
                "Secondary Email",
                Email,
                Some("email"),
            ),
            (Contact, "E_Mail__c", "E-mail", Email, Some("email")),
            (Contact, "Surname__c", "Surname", String, Some("last_name")),
            (
                Contact,
                "Given_Name__c",
                "Given Name",
                String,
                Some("first_name"),
            ),
            (Contact, "Health_Score__c", "Health Score", Double, None),
            (Contact, "Tier__c", "Tier", Picklist, None),
            (
                Contact,
                "Assistant_Phone__c",
                "Assistant's Phone",
                Phone,
                None,
            ),
            (Contact, "Company_Phone__c", "Company Phone", Phone, None),
            (Contact, "Email_Domain__c", "Email Domain", String, None),
            (Contact, "Newsletter_Opt_In__c", "Newsletter", Boolean, None),
            (Contact, "LinkedIn_URL__c", "LinkedIn", Url, None),
            (
                Company,
                "Company_Website__c",
                "Company Website",
                Url,
                Some("website"),
            ),
            (Company, "Web_Site__c", "Web site", Url, Some("website")),
            (
                Company,
                "Num_Employees__c",
                "# of Employees",
                Double,
                Some("employee_count"),
            ),
            (
                Company,
                "Employee_Count__c",
                "Employee Count",
                Int,
                Some("employee_count"),
            ),
            (
                Company,
                "Headcount__c",
                "Headcount",
                Int,
                Some("employee_count"),
            ),
            (
                Company,
                "Emp_Count__c",
                "Emp. Count",
                Int,
                Some("employee_count"),
            ),
            (
                Company,
                "Annual_Turnover__c",
                "Annual Turnover (EUR)",
                Currency,
                Some("annual_revenue"),
            ),
            (
                Company,
                "Revenue__c",
                "Revenue",
                Currency,
                Some("annual_revenue"),
            ),
            (Company, "Sector__c", "Sector", Picklist, Some("industry")),
            (Company, "Industry_Code__c", "Industry Code", String, None),
            (
                Company,
                "Account_Phone__c",
                "Account Phone",
                Phone,
                Some("phone"),
            ),
            (
                Company,
                "Mobile_Phone__c",
                "Mobile Phone",
                Phone,
                Some("phone"),
            ),
            (
                Company,
                "Original_Created_Date__c",
                "Created Date (legacy CRM)",
                DateTime,
                Some("created_at"),
            ),
            (Company, "Health_Score__c", "Health Score", Percent, None),
            (Company, "Tier__c", "Tier", Picklist, None),
            (Company, "Region__c", "Region", Picklist, None),
            (
                Company,
                "Revenue_Growth__c",
                "Revenue Growth",
                Percent,
                None,
            ),
            (Company, "Fax__c", "Fax", Phone, None),
        ];
        let mut wrong = Vec::new();
        for (entity, name, label, field_type, expected) in table {
            let proposal = proposed(*entity, name, label, field_type.clone());
            let target = proposal.as_ref().map(|proposal| proposal.target);
            if target != *expected {
                wrong.push(format!(
                    "{entity}.{name}: expected {expected:?}, got {proposal:?}"
                ));
            }
            if let Some(proposal) = proposal {
                assert!(
                    (THRESHOLD..=1.0).contains(&proposal.confidence),
                    "{name}: {proposal:?}"
                );
            }
        }
        assert!(wrong.is_empty(), "{wrong:#?}");
    }

    #[test]
    fn a_proposal_says_why_and_how_sure() {
        let exact = proposed(EntityKind::Contact, "Job_Title__c", "Job Title", String);
        let qualified = proposed(
            EntityKind::Contact,
            "Secondary_Email__c",
            "Secondary Email",
            Email,
        );
        let (Some(exact), Some(qualified)) = (exact, qualified) else {
            panic!("no proposal")
        };
        assert_eq!(exact.confidence, 1.0);
        assert_eq!(qualified.confidence, 0.67);
        assert_eq!(
            exact.reason,
            "its name `Job_Title__c` resembles contact.job_title: `job` matches, `title` matches"
        );
        assert!(qualified.confidence < exact.confidence, "{qualified:?}");
        assert_eq!(
            qualified.reason,
            "its name `Secondary_Email__c` resembles contact.email: `secondary` qualifies it, `email` matches"
        );
    }

    #[test]
    fn a_type_that_cannot_fill_the_target_is_never_proposed() {
        use EntityKind::{Company, Contact};
        let mismatches: &[(EntityKind, &str, FieldType)] = &[
            (Contact, "Mobile_Phone__c", Email),
            (Contact, "Email__c", Phone),
            (Contact, "Secondary_Email__c", Boolean),
            (Contact, "Job_Title__c", Int),
            (Company, "Num_Employees__c", String),
            (Company, "Annual_Revenue__c", String),
            (Company, "Annual_Revenue__c", Percent),
            (Company, "Website__c", Email),
            (Company, "Website__c", Picklist),
            (Company, "Created_Date__c", FieldType::Date),
            (Company, "Description__c", Int),
        ];
        for (entity, name, field_type) in mismatches {
            let proposal = proposed(*entity, name, name, field_type.clone());
            assert_eq!(proposal, None, "{entity}.{name} as {field_type:?}");
        }
        // A decimal count is not a number of employees; a whole one is.
        let mut decimal = field("Num_Employees__c", "Employees", Double);
        decimal.scale = 2;
        assert_eq!(propose(Company, &decimal, &BTreeSet::new()), None);
    }

    #[test]
    fn a_text_field_fills_a_typed_target_only_at_a_discount() {
        let typed = proposed(EntityKind::Contact, "Mobile__c", "Mobile", Phone);
        let text = proposed(EntityKind::Contact, "Mobile__c", "Mobile", String);
        let (Some(typed), Some(text)) = (typed, text) else {
            panic!("no proposal")
        };
        assert_eq!((typed.target, text.target), ("phone", "phone"));
        assert!(text.confidence < typed.confidence);
        assert!(
            text.reason.ends_with("not checked for that kind of data"),
            "{text:?}"
        );
    }

    #[test]
    fn a_target_the_map_already_fills_is_never_proposed() {
        let used = BTreeSet::from(["phone", "email", "job_title"]);
        for name in [
            "Mobile_Phone__c",
            "Secondary_Email__c",
            "Job_Title__c",
            "Phone2__c",
        ] {
            let field_type = if name.contains("Email") {
                Email
            } else {
                String
            };
            let proposal = propose(EntityKind::Contact, &field(name, name, field_type), &used);
            assert_eq!(proposal, None, "{name}");
        }
    }

    #[test]
    fn an_object_gets_proposals_for_its_unmapped_custom_fields_one_per_target() {
        let mut map = FieldMap::builtin();
        let Some(account) = map.objects.get_mut("Account") else {
            panic!("the built-in map has Account")
        };
        account.fields.remove("Website");
        account.fields.remove("NumberOfEmployees");
        let mut standard = field("Website", "Website", Url);
        standard.custom = false;
        let description = ObjectDescription {
            name: "Account".to_owned(),
            label: "Account".to_owned(),
            key_prefix: Some("001".to_owned()),
            fields: vec![
                standard,
                field("Web_Site__c", "Web site", Url),
                field("Company_Website__c", "Company Website", Url),
                field("Mobile_Phone__c", "Mobile Phone", Phone),
                field("Num_Employees__c", "Employees", Int),
                field("Health_Score__c", "Health Score", Double),
            ],
        };
        let proposals = propose_for_object(&map.objects["Account"], &description);
        let summary: Vec<(&str, &str)> = proposals
            .iter()
            .map(|proposal| (proposal.field.as_str(), proposal.proposal.target))
            .collect();
        // The map fills `phone` already; both website fields resemble `website` as closely,
        // so the first in the describe keeps it.
        assert_eq!(
            summary,
            [
                ("Web_Site__c", "website"),
                ("Num_Employees__c", "employee_count")
            ]
        );
        let json = serde_json::to_value(&proposals[0]).unwrap_or_default();
        assert_eq!(json["field"], "Web_Site__c");
        assert_eq!(json["target"], "website");
    }

    #[test]
    fn words_split_at_underscores_case_digits_and_namespaces() {
        assert_eq!(
            name_words("acme__Mobile_Phone2__c"),
            ["mobile", "phone", "2"]
        );
        assert_eq!(
            name_words("NumberOfEmployees"),
            ["number", "of", "employees"]
        );
        assert_eq!(name_words("CompanyURLText__c"), ["company", "url", "text"]);
        assert_eq!(words("E-mail (work)"), ["email", "work"]);
        assert_eq!(words("# of Employees"), ["of", "employees"]);
    }

    #[test]
    fn jaro_winkler_is_one_for_equal_words_and_high_for_close_ones() {
        assert_eq!(jaro_winkler("phone", "phone"), 1.0);
        assert!(jaro_winkler("employees", "employee") > 0.95);
        assert!(jaro_winkler("tier", "title") < 0.9);
        assert_eq!(jaro_winkler("abc", "xyz"), 0.0);
    }
}
