//! Configuration problems, located in the file and printed with the
//! offending line, like a compiler diagnostic.

use std::fmt;
use std::ops::Range;

use serde::Serialize;
use serde_path_to_error::{Path as KeyPath, Segment};

/// One problem, with where it is.
#[derive(Debug, Clone, Serialize)]
pub struct Diagnostic {
    pub file: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub line: Option<usize>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub column: Option<usize>,
    pub message: String,
    /// The source line and the marker under it, for text output.
    #[serde(skip)]
    pub excerpt: Option<(String, usize, usize)>,
}

impl Diagnostic {
    /// A problem at a byte span of `source`.
    pub fn at(file: &str, source: &str, span: Option<Range<usize>>, message: String) -> Diagnostic {
        let Some(span) = span else {
            return Diagnostic {
                file: file.to_string(),
                line: None,
                column: None,
                message,
                excerpt: None,
            };
        };
        let mut start = span.start.min(source.len());
        // A CRLF line ends at the '\r', as far as anyone can see.
        if start > 0 && source.as_bytes()[start - 1] == b'\r' && source[start..].starts_with('\n') {
            start -= 1;
        }
        let line_start = source[..start].rfind('\n').map_or(0, |i| i + 1);
        let line_end = source[start..]
            .find('\n')
            .map_or(source.len(), |i| start + i);
        let line_no = source[..start].matches('\n').count() + 1;
        let text = source[line_start..line_end].trim_end_matches('\r');
        let column = source[line_start..start].chars().count() + 1;
        let end = span.end.clamp(start, line_end);
        let width = source[start..end].chars().count().max(1);
        Diagnostic {
            file: file.to_string(),
            line: Some(line_no),
            column: Some(column),
            message,
            excerpt: Some((text.to_string(), column, width)),
        }
    }

    /// The one-line form: `file:line:col: message`.
    pub fn headline(&self) -> String {
        match (self.line, self.column) {
            (Some(l), Some(c)) => format!("{}:{}:{}: {}", self.file, l, c, self.message),
            _ => format!("{}: {}", self.file, self.message),
        }
    }

    /// The source line with a `^^^` marker under the offending part.
    pub fn excerpt_lines(&self) -> Option<[String; 2]> {
        let (text, column, width) = self.excerpt.as_ref()?;
        let line_no = self.line?.to_string();
        let pad = " ".repeat(line_no.len());
        let lead: String = text
            .chars()
            .take(column - 1)
            .map(|c| if c == '\t' { '\t' } else { ' ' })
            .collect();
        Some([
            format!("{line_no} | {text}"),
            format!("{pad} | {lead}{}", "^".repeat(*width)),
        ])
    }
}

/// The configuration is invalid: every problem found, in file order.
#[derive(Debug, Clone)]
pub struct Invalid {
    pub file: String,
    pub problems: Vec<Diagnostic>,
}

impl fmt::Display for Invalid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.problems.as_slice() {
            [only] => f.write_str(&only.headline()),
            problems => write!(f, "{} has {} problems", self.file, problems.len()),
        }
    }
}

impl std::error::Error for Invalid {}

/// Turns a deserialization error (syntax, unknown key, wrong type) into a
/// message that says what to fix.
pub fn describe_serde_error(path: &KeyPath, message: &str) -> String {
    let message = message.trim_end().replace('\n', "; ");
    // toml's Spanned wrapper shows up as a key of its own; list elements as
    // trailing indexes. Neither is what the user wrote.
    let mut segments: Vec<&Segment> = path
        .iter()
        .filter(|s| !matches!(s, Segment::Map { key } if key.starts_with("$__serde_spanned")))
        .collect();
    let missing = message.starts_with("missing field `");
    // A missing key is about the table itself, which may be an element of
    // an array of tables ([[site]]); anything else is about a value.
    while !missing && matches!(segments.last(), Some(Segment::Seq { .. })) {
        segments.pop();
    }
    let section = section_name(&segments, !missing);
    let key = last_key(&segments);

    if let Some(rest) = message.strip_prefix("unknown field `") {
        let (field, expected) = split_ticked(rest);
        if field == "client_secret" {
            return format!(
                "unknown key \"client_secret\" {section} — secrets never go in webtier.toml: \
                 put it in a file (mode 0600) and set client_secret_file"
            );
        }
        return match suggest(&field, &expected) {
            Some(s) => format!("unknown key \"{field}\" {section} — did you mean \"{s}\"?"),
            None if expected.is_empty() => format!("unknown key \"{field}\" {section}"),
            None => format!(
                "unknown key \"{field}\" {section} — expected one of {}",
                quote_list(&expected)
            ),
        };
    }
    if let Some(rest) = message.strip_prefix("unknown variant `") {
        let (value, expected) = split_ticked(rest);
        let name = key.unwrap_or("value");
        return match suggest(&value, &expected) {
            Some(s) => {
                format!("invalid value \"{value}\" for {name} {section} — did you mean \"{s}\"?")
            }
            None => format!(
                "invalid value \"{value}\" for {name} {section} — expected one of {}",
                quote_list(&expected)
            ),
        };
    }
    if let Some(rest) = message.strip_prefix("missing field `") {
        let field = rest.split('`').next().unwrap_or_default();
        return format!("missing key \"{field}\" {section} — add {field} = ...");
    }
    if let Some(rest) = message.strip_prefix("duplicate field `") {
        let field = rest.split('`').next().unwrap_or_default();
        return format!("key \"{field}\" appears twice {section} — keep one");
    }
    if let Some(rest) = message.strip_prefix("invalid type: ") {
        let (found, expected) = rest
            .split_once(", expected ")
            .unwrap_or((rest, "another type"));
        if key == Some("site") && expected.contains("sequence") {
            return "site must be an array of tables: write [[site]], not [site]".to_string();
        }
        let name = key.map_or(String::from("value"), |k| format!("\"{k}\""));
        return format!(
            "wrong type for {name} {section}: expected {}, found {}",
            plain_type(expected),
            plain_type(found)
        );
    }
    if message.starts_with("wanted string or table") {
        let name = key.map_or(String::from("value"), |k| format!("\"{k}\""));
        return format!("wrong type for {name} {section}: expected a quoted string");
    }
    if key.is_some() {
        format!("{message} ({section})")
    } else {
        message
    }
}

/// The TOML table a key path points into, as the user wrote it:
/// "in [[site]]", "in [site.auth]", "in [acme]", or "at the top level".
fn section_name(segments: &[&Segment], ends_with_key: bool) -> String {
    // The last segment is the key itself (unless the error is about the
    // table, like a missing key); the table is everything before.
    let table = match segments.split_last() {
        Some((Segment::Map { .. } | Segment::Unknown, rest)) if ends_with_key => rest,
        _ => segments,
    };
    let mut keys = Vec::new();
    let mut array = false;
    for seg in table {
        match seg {
            Segment::Map { key } => {
                keys.push(key.as_str());
                array = false;
            }
            Segment::Seq { .. } => array = true,
            _ => {}
        }
    }
    if keys.is_empty() {
        return "at the top level".to_string();
    }
    let joined = keys.join(".");
    if array {
        format!("in [[{joined}]]")
    } else {
        format!("in [{joined}]")
    }
}

fn last_key<'a>(segments: &[&'a Segment]) -> Option<&'a str> {
    segments.iter().rev().find_map(|seg| match seg {
        Segment::Map { key } => Some(key.as_str()),
        _ => None,
    })
}

/// Splits "x`, expected one of `a`, `b`" into ("x", ["a", "b"]).
fn split_ticked(rest: &str) -> (String, Vec<String>) {
    let (first, tail) = rest.split_once('`').unwrap_or((rest, ""));
    let expected = tail
        .split('`')
        .skip(1)
        .step_by(2)
        .map(str::to_string)
        .collect();
    (first.to_string(), expected)
}

/// The closest expected name, when it is close enough to be a typo.
pub fn suggest(given: &str, expected: &[String]) -> Option<String> {
    let lower = given.to_ascii_lowercase();
    expected
        .iter()
        .map(|e| (strsim::damerau_levenshtein(&lower, e), e))
        .filter(|(d, e)| *d <= (e.len() / 3).max(1))
        .min_by_key(|(d, _)| *d)
        .map(|(_, e)| e.clone())
}

fn quote_list(items: &[String]) -> String {
    items
        .iter()
        .map(|s| format!("\"{s}\""))
        .collect::<Vec<_>>()
        .join(", ")
}

fn plain_type(serde_words: &str) -> String {
    let w = serde_words.trim();
    match w {
        "a sequence" => "a list like [\"a\", \"b\"]".into(),
        "a boolean" => "true or false".into(),
        "a string" => "a quoted string".into(),
        "a map" => "a table".into(),
        "i64" | "integer" => "a whole number".into(),
        _ if w.ends_with(" as i128") => w.trim_end_matches(" as i128").to_string(),
        _ if w.starts_with("struct ") => "a table".into(),
        _ if w.starts_with("sequence") => "a list".into(),
        _ if w.starts_with("map") => "a table".into(),
        _ => w.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn location_is_line_and_character_column() {
        let src = "a = 1\n  bé = 2\n";
        let span = src.find("= 2").unwrap()..src.find("= 2").unwrap() + 3;
        let d = Diagnostic::at("f.toml", src, Some(span), "m".into());
        assert_eq!((d.line, d.column), (Some(2), Some(6)));
        assert_eq!(d.headline(), "f.toml:2:6: m");
        let [text, marker] = d.excerpt_lines().unwrap();
        assert_eq!(text, "2 |   bé = 2");
        assert_eq!(marker, "  |      ^^^");
    }

    #[test]
    fn suggestions_only_for_near_misses() {
        let expected = vec![
            "domain".to_string(),
            "aliases".to_string(),
            "tls".to_string(),
        ];
        assert_eq!(suggest("domian", &expected).as_deref(), Some("domain"));
        assert_eq!(suggest("alias", &expected).as_deref(), Some("aliases"));
        assert_eq!(suggest("tsl", &expected).as_deref(), Some("tls"));
        assert_eq!(suggest("completely_else", &expected), None);
    }
}
