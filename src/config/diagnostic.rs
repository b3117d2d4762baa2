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
    /// A problem at a byte span of `source`. Values of keys that look like
    /// secrets never show: they are masked in the excerpt and in the
    /// message.
    pub fn at(file: &str, source: &str, span: Option<Range<usize>>, message: String) -> Diagnostic {
        let secrets = secret_values(source);
        let message = scrub(message, source, &secrets);
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
        let end = span.end.clamp(start, line_end);
        let (text, column, width) = masked_line(source, line_start..line_end, start..end, &secrets);
        Diagnostic {
            file: file.to_string(),
            line: Some(line_no),
            column: Some(column),
            message,
            excerpt: Some((text, column, width)),
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

/// Whether a key's value is a secret, by its name: `client_secret`,
/// `password`, `api_key`, `hmac_key`, `aws_secret_access_key` and the like,
/// also misspelt or without underscores. Keys ending in `file` or `path`
/// hold where a secret is, and `key` alone is `[acme]`'s key type.
pub fn is_secret_key(name: &str) -> bool {
    let name: String = name
        .chars()
        .filter(char::is_ascii_alphanumeric)
        .map(|c| c.to_ascii_lowercase())
        .collect();
    if name.ends_with("file") || name.ends_with("path") {
        return false;
    }
    [
        "secret",
        "password",
        "passwd",
        "token",
        "hmac",
        "privatekey",
        "apikey",
        "accesskey",
        "credential",
    ]
    .iter()
    .any(|word| name.contains(word))
}

/// The byte ranges of the values assigned to secret-looking keys, found
/// lexically (strings, comments, dotted keys and inline tables are
/// understood), so it works on files that do not parse too.
fn secret_values(source: &str) -> Vec<Range<usize>> {
    let bytes = source.as_bytes();
    let mut found = Vec::new();
    let mut key: Option<&str> = None;
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'\n' | b'[' | b']' | b'{' | b'}' | b',' => {
                key = None;
                i += 1;
            }
            b'#' => i = line_end(source, i),
            b'"' | b'\'' => {
                let end = string_end(source, i);
                let quotes = if end - i >= 6 && bytes[i + 1] == bytes[i] {
                    3
                } else {
                    1
                };
                key = source.get(i + quotes..end.saturating_sub(quotes).max(i + quotes));
                i = end;
            }
            b'=' => {
                let value = skip_blanks(source, i + 1);
                if key.take().is_some_and(is_secret_key) {
                    let end = value_end(source, value);
                    if end > value {
                        found.push(value..end);
                    }
                    i = end.max(value);
                } else {
                    i = value;
                }
            }
            b if b.is_ascii_alphanumeric() || b == b'_' || b == b'-' => {
                let start = i;
                while i < bytes.len()
                    && (bytes[i].is_ascii_alphanumeric() || bytes[i] == b'_' || bytes[i] == b'-')
                {
                    i += 1;
                }
                key = Some(&source[start..i]);
            }
            _ => i += 1,
        }
    }
    found
}

fn line_end(source: &str, from: usize) -> usize {
    source[from..].find('\n').map_or(source.len(), |n| from + n)
}

fn skip_blanks(source: &str, from: usize) -> usize {
    let rest = &source[from..];
    from + (rest.len() - rest.trim_start_matches([' ', '\t']).len())
}

/// Where the string opening at `start` ends (past its closing quotes); an
/// unterminated one ends at its line's end, or a multi-line one at the
/// end of the file.
fn string_end(source: &str, start: usize) -> usize {
    let bytes = source.as_bytes();
    let quote = bytes[start];
    let basic = quote == b'"';
    let triple = bytes.get(start..start + 3) == Some(&[quote; 3][..]);
    let mut i = start + if triple { 3 } else { 1 };
    while i < bytes.len() {
        match bytes[i] {
            b'\\' if basic => i += 2,
            b'\n' if !triple => return i,
            b if b == quote => {
                if !triple {
                    return i + 1;
                }
                if bytes.get(i..i + 3) == Some(&[quote; 3][..]) {
                    // Up to two quotes may end the content itself.
                    let mut end = i + 3;
                    while end < bytes.len() && end < i + 5 && bytes[end] == quote {
                        end += 1;
                    }
                    return end;
                }
                i += 1;
            }
            _ => i += 1,
        }
    }
    bytes.len()
}

/// Where the value starting at `start` ends: a string, an inline table or
/// array (to its matching bracket), or a bare word.
fn value_end(source: &str, start: usize) -> usize {
    let bytes = source.as_bytes();
    match bytes.get(start) {
        None => start,
        Some(b'"' | b'\'') => string_end(source, start),
        Some(b'[' | b'{') => {
            let mut depth = 0usize;
            let mut i = start;
            while i < bytes.len() {
                match bytes[i] {
                    b'"' | b'\'' => {
                        i = string_end(source, i);
                        continue;
                    }
                    b'#' => {
                        i = line_end(source, i);
                        continue;
                    }
                    b'[' | b'{' => depth += 1,
                    b']' | b'}' => {
                        depth -= 1;
                        if depth == 0 {
                            return i + 1;
                        }
                    }
                    _ => {}
                }
                i += 1;
            }
            bytes.len()
        }
        Some(_) => {
            let rest = &source[start..];
            start
                + rest
                    .find([' ', '\t', ',', '}', ']', '#', '\r', '\n'])
                    .unwrap_or(rest.len())
        }
    }
}

/// The line `line` of `source` with each secret value in it shown as
/// `"****"`, and the character column and width of `span` in what is
/// shown.
fn masked_line(
    source: &str,
    line: Range<usize>,
    span: Range<usize>,
    secrets: &[Range<usize>],
) -> (String, usize, usize) {
    // Pieces of the line: as written (None), or a replacement.
    let mut pieces: Vec<(Range<usize>, Option<&str>)> = Vec::new();
    let mut at = line.start;
    for secret in secrets {
        let (from, to) = (secret.start.max(at), secret.end.min(line.end));
        if from >= to {
            continue;
        }
        pieces.push((at..from, None));
        let quoted = from == secret.start && matches!(source.as_bytes()[from], b'"' | b'\'');
        pieces.push((from..to, Some(if quoted { "\"****\"" } else { "****" })));
        at = to;
    }
    pieces.push((at..line.end, None));

    let mut text = String::new();
    let (mut column, mut end_column) = (None, None);
    for (range, replacement) in pieces {
        let before = text.chars().count();
        match replacement {
            None => {
                for (pos, found) in [(span.start, &mut column), (span.end, &mut end_column)] {
                    if found.is_none() && (range.start..=range.end).contains(&pos) {
                        *found = Some(before + source[range.start..pos].chars().count());
                    }
                }
                text.push_str(&source[range]);
            }
            Some(replacement) => {
                text.push_str(replacement);
                if column.is_none() && range.contains(&span.start) {
                    column = Some(before);
                }
                if end_column.is_none() && (range.start + 1..=range.end).contains(&span.end) {
                    end_column = Some(text.chars().count());
                }
            }
        }
    }
    let text = text.trim_end_matches('\r').to_string();
    let column = column.unwrap_or(0);
    let width = end_column.unwrap_or(column).saturating_sub(column).max(1);
    (text, column + 1, width)
}

/// `message` without any secret value of `source` in it (values shorter
/// than 4 characters are left: replacing them would garble the words).
fn scrub(message: String, source: &str, secrets: &[Range<usize>]) -> String {
    let mut message = message;
    for secret in secrets {
        let value = source[secret.clone()].trim_matches(['"', '\'']);
        for candidate in [value, &source[secret.clone()]] {
            if candidate.chars().count() >= 4 && message.contains(candidate) {
                message = message.replace(candidate, "****");
            }
        }
    }
    message
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
    // A secret's value is not repeated back (see `Diagnostic::at`).
    let secret = key.is_some_and(is_secret_key);
    if let Some(rest) = message.strip_prefix("unknown variant `") {
        let (value, expected) = split_ticked(rest);
        let name = key.unwrap_or("value");
        if secret {
            return format!(
                "invalid value for {name} {section} — expected one of {}",
                quote_list(&expected)
            );
        }
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
        // serde shows the value found: `string "x"`, `integer `5``.
        let found = match found.find(['"', '`']) {
            Some(quote) if secret => found[..quote].trim(),
            _ => found,
        };
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
    fn secret_keys_are_told_by_name_but_not_paths_or_key_types() {
        for name in [
            "client_secret",
            "clientsecret",
            "Secret",
            "db_password",
            "passwd",
            "token",
            "api-key",
            "hmac_key",
            "private_key",
            "aws_secret_access_key",
            "AccessKey",
        ] {
            assert!(is_secret_key(name), "{name}");
        }
        for name in [
            "client_secret_file",
            "hmac_key_file",
            "token_path",
            "key",
            "kid",
            "client_id",
            "domain",
        ] {
            assert!(!is_secret_key(name), "{name}");
        }
    }

    #[test]
    fn excerpts_show_secret_keys_with_their_values_masked() {
        let cases = [
            ("client_secret = \"hunter2\"", "client_secret = \"****\""),
            (
                "auth = { issuer = \"https://i\", client_secret = 'hunter2', client_id = \"x\" }",
                "auth = { issuer = \"https://i\", client_secret = \"****\", client_id = \"x\" }",
            ),
            (
                "site.auth.\"client_secret\" = \"hun\\\"ter2\"",
                "site.auth.\"client_secret\" = \"****\"",
            ),
            ("password = hunter2 # hunter2", "password = **** # hunter2"),
            ("token = [\"hunter2\", 'x']", "token = ****"),
            ("secret = \"hunter2", "secret = \"****\""),
            ("key = \"ecdsa-p256\"", "key = \"ecdsa-p256\""),
            ("client_secret_file = \"/s\"", "client_secret_file = \"/s\""),
            ("note = \"password = x\"", "note = \"password = x\""),
            ("a = 1\r", "a = 1"),
        ];
        for (line, shown) in cases {
            let src = format!("x = 1\n{line}\ny = 2\n");
            let d = Diagnostic::at("f", &src, Some(6..7), "m".into());
            assert_eq!(d.excerpt.unwrap().0, shown, "{line}");
        }
        // A multi-line string is masked on every line it spans.
        let src = "secret = \"\"\"\nhunter2\nmore\"\"\"\nb = 1\n";
        for (at, shown) in [(0, "secret = \"****\""), (15, "****"), (22, "****")] {
            let d = Diagnostic::at("f", src, Some(at..at + 1), "m".into());
            assert_eq!(d.excerpt.unwrap().0, shown, "{at}");
        }
        let d = Diagnostic::at("f", src, Some(29..30), "m".into());
        assert_eq!(d.excerpt.unwrap().0, "b = 1");
    }

    #[test]
    fn markers_point_at_the_same_place_after_masking() {
        let src = "a = { token = \"hunter2hunter2\", bé = 5 }\n";
        let at = src.find("bé").unwrap();
        let d = Diagnostic::at("f", src, Some(at..at + "bé".len()), "m".into());
        let [text, marker] = d.excerpt_lines().unwrap();
        assert_eq!(text, "1 | a = { token = \"****\", bé = 5 }");
        assert_eq!(marker, format!("  | {}^^", " ".repeat(22)));
        // The value itself: the marker covers its mask.
        let at = src.find('"').unwrap();
        let d = Diagnostic::at("f", src, Some(at..at + 16), "m".into());
        let [_, marker] = d.excerpt_lines().unwrap();
        assert_eq!(marker, format!("  | {}^^^^^^", " ".repeat(14)));
    }

    #[test]
    fn messages_never_repeat_a_secret_value() {
        let src = "[site.auth]\nclient_secret = \"hunter2-SECRET\"\n";
        let d = Diagnostic::at(
            "f",
            src,
            Some(12..25),
            "client_secret \"hunter2-SECRET\" is wrong".into(),
        );
        assert_eq!(d.message, "client_secret \"****\" is wrong");
        let d = Diagnostic::at("f", src, None, "about hunter2-SECRET".into());
        assert_eq!(d.message, "about ****");
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
