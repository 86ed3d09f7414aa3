//! From bytes on disk to logical lines of tokens, the way keepalived reads them:
//! comments (`!`, `#`, anywhere outside quotes), `include` (with globs, relative to the
//! including file), `@id` / `@^id` conditional lines, `$NAME=value` parameters (multi-line
//! with a trailing `\`), `${NAME}` / `$NAME` substitution, quoted strings, and `{` `}` split
//! off as tokens of their own.

use std::borrow::Cow;
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use super::diag::{Diagnostics, Location};

/// Nested includes deeper than this are taken to be a loop.
const MAX_INCLUDE_DEPTH: usize = 32;
/// Substitutions deeper than this are taken to be a loop (`$A=$A`).
const MAX_SUBSTITUTION_ROUNDS: usize = 32;
/// Guard against a parameter whose expansion grows without bound.
const MAX_EXPANDED_LINE: usize = 64 * 1024;
/// Guard against many lines each expanding a large parameter.
const MAX_EXPANDED_TOTAL: usize = 16 * 1024 * 1024;
/// Token texts are addressed with `u32` offsets (half the memory of `usize` ones); a
/// configuration this large is not one.
const MAX_TOKEN_TEXT: usize = u32::MAX as usize;
/// Guard against `{a,b}{a,b}{a,b}...` in include patterns.
const MAX_BRACE_ALTERNATIVES: usize = 1024;

/// What `include` does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Includes {
    /// Read the files, as keepalived.
    Follow,
    /// Report the line and read nothing (in-memory configurations, fuzzing).
    Refuse,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenKind {
    Word,
    Open,
    Close,
}

/// One token: its text is `Tokens::text[start..end]`.
#[derive(Debug, Clone, Copy)]
pub struct Token {
    pub kind: TokenKind,
    start: u32,
    end: u32,
    /// Index of its logical line in [`Tokens::lines`].
    pub line: u32,
}

/// Every token of the configuration, in order. The texts share one buffer rather than a
/// `String` each: a large configuration has hundreds of thousands of tokens, and one
/// allocation per token dominated the time and the memory of loading it.
#[derive(Debug, Default)]
pub struct Tokens {
    pub text: String,
    pub tokens: Vec<Token>,
    /// Where each logical line comes from (several lines may share one place: a
    /// substituted multi-line parameter).
    pub lines: Vec<LineAt>,
    /// The files [`LineAt::file`] indexes.
    pub files: Vec<Arc<Path>>,
}

/// A [`Location`] in 8 bytes rather than 24: there is one per logical line.
#[derive(Debug, Clone, Copy)]
pub struct LineAt {
    pub file: u32,
    pub line: u32,
}

/// [`Tokens`] taken apart, so that the tree can borrow the words while the token list,
/// no longer needed once the tree is built, is dropped before the model is.
pub struct Parts {
    pub text: String,
    pub tokens: Vec<Token>,
    pub lines: Vec<LineAt>,
    pub files: Vec<Arc<Path>>,
}

impl Parts {
    /// Where logical line `line` comes from.
    pub fn location(&self, line: u32) -> Option<Location> {
        let at = self.lines.get(line as usize)?;
        let file = self.files.get(at.file as usize)?;
        Some(Location::new(file.clone(), at.line))
    }
}

/// The text of every token of `tokens`, in order (`text` is [`Parts::text`]).
pub fn words<'t>(text: &'t str, tokens: &[Token]) -> Vec<&'t str> {
    tokens.iter().map(|t| text_of(text, t)).collect()
}

fn text_of<'t>(text: &'t str, t: &Token) -> &'t str {
    text.get(t.start as usize..t.end as usize)
        .unwrap_or_default()
}

impl Tokens {
    pub fn text_of(&self, t: &Token) -> &str {
        text_of(&self.text, t)
    }

    pub fn into_parts(self) -> Parts {
        Parts {
            text: self.text,
            tokens: self.tokens,
            lines: self.lines,
            files: self.files,
        }
    }

    /// The logical lines as lists of words (for tests and debugging).
    pub fn line_words(&self) -> Vec<Vec<&str>> {
        let mut out: Vec<Vec<&str>> = Vec::new();
        let mut last: Option<u32> = None;
        for t in &self.tokens {
            if last != Some(t.line) {
                out.push(Vec::new());
                last = Some(t.line);
            }
            if let Some(l) = out.last_mut() {
                l.push(self.text_of(t));
            }
        }
        out
    }
}

/// Parameter values: multi-line definitions hold several lines.
type Params = HashMap<String, Vec<String>>;

struct Reader<'a> {
    includes: Includes,
    /// `Some` for [`read_root_recorded`]: what an incremental reload needs to see changes.
    record: Option<Record>,
    config_id: Option<String>,
    params: Params,
    out: Tokens,
    /// Bytes produced by substitution so far, against [`MAX_EXPANDED_TOTAL`].
    expanded: usize,
    /// Set when reading cannot sensibly go on (runaway expansion): the rest is skipped.
    aborted: bool,
    diags: &'a mut Diagnostics,
}

/// Reads the root file `path` whose content is `text`. `config_id` selects `@id` lines;
/// `None` means keepalived's default, the host name up to the first dot.
pub fn read_root(
    path: &Path,
    text: &[u8],
    includes: Includes,
    config_id: Option<&str>,
    diags: &mut Diagnostics,
) -> Tokens {
    let mut r = Reader::new(includes, None, config_id, diags);
    r.read_file(Arc::from(path), text, 0, 1);
    r.finish().0
}

/// What [`read_root_recorded`] saw besides the tokens: every file's bytes and every
/// `include`'s expansion, so that a reload can tell whether anything changed.
#[derive(Debug, Default)]
pub struct Record {
    /// The bytes of [`Tokens::files`]`[i]` (the root file's are the caller's: `None`).
    pub bytes: Vec<Option<Vec<u8>>>,
    pub includes: Vec<IncludeRecord>,
    /// Set when an included file matched but could not be read: whether it became
    /// readable cannot be told from what was kept.
    pub unreadable: Option<PathBuf>,
}

/// One `include` line as it was followed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IncludeRecord {
    /// The including file (patterns are relative to its directory).
    pub from: Arc<Path>,
    pub pattern: String,
    /// What the pattern expanded to, in reading order ([`include_files`]).
    pub files: Vec<PathBuf>,
}

/// [`read_root`] following includes, keeping what [`Record`] holds.
pub fn read_root_recorded(
    path: &Path,
    text: &[u8],
    config_id: Option<&str>,
    diags: &mut Diagnostics,
) -> (Tokens, Record) {
    let mut r = Reader::new(Includes::Follow, Some(Record::default()), config_id, diags);
    r.read_file(Arc::from(path), text, 0, 1);
    let (tokens, record) = r.finish();
    (tokens, record.unwrap_or_default())
}

/// Reads `text`, the lines of `file` from line `first_line` on, as if it were that part of
/// the file: for re-reading one changed statement. `include` lines are refused (the caller
/// re-reads the whole configuration when one is involved).
pub fn read_fragment(
    file: Arc<Path>,
    text: &[u8],
    first_line: u32,
    config_id: Option<&str>,
    diags: &mut Diagnostics,
) -> Tokens {
    let mut r = Reader::new(Includes::Refuse, None, config_id, diags);
    r.read_file(file, text, 0, first_line);
    r.finish().0
}

/// keepalived's default config id: the host name up to the first dot.
fn host_config_id() -> Option<String> {
    let name = std::fs::read_to_string("/proc/sys/kernel/hostname").ok()?;
    let first = name.trim().split('.').next()?.to_string();
    (!first.is_empty()).then_some(first)
}

impl<'a> Reader<'a> {
    fn new(
        includes: Includes,
        record: Option<Record>,
        config_id: Option<&str>,
        diags: &'a mut Diagnostics,
    ) -> Self {
        Reader {
            includes,
            record,
            config_id: config_id.map(str::to_string).or_else(host_config_id),
            params: Params::new(),
            out: Tokens::default(),
            expanded: 0,
            aborted: false,
            diags,
        }
    }

    fn finish(self) -> (Tokens, Option<Record>) {
        if self.aborted {
            // What was read is cut at an arbitrary point: parsing it would only add noise.
            return (Tokens::default(), self.record);
        }
        (self.out, self.record)
    }

    /// Reads `text`, the content of `file`, whose first line is line `first_line`.
    fn read_file(&mut self, file: Arc<Path>, text: &[u8], depth: usize, first_line: u32) {
        let file_index = u32::try_from(self.out.files.len()).unwrap_or(u32::MAX);
        self.out.files.push(file.clone());
        // Valid UTF-8 (the usual case) is checked word-at-a-time; only invalid input goes
        // through the slower replacing decoder.
        let text = match std::str::from_utf8(text) {
            Ok(t) => Cow::Borrowed(t),
            Err(_) => String::from_utf8_lossy(text),
        };
        // Editors on other systems may save a byte-order mark; it is not part of a keyword.
        let text = text.strip_prefix('\u{feff}').unwrap_or(&text);
        // The words of a file are at most its bytes: one allocation instead of doublings.
        self.out.text.reserve(text.len());
        // About one token per 8 bytes in a typical file; capacity not used is never touched,
        // so a generous guess costs address space, not memory.
        self.out.tokens.reserve(text.len() / 4);
        let mut raw = text.split('\n').enumerate().peekable();
        while let Some((idx, line)) = raw.next() {
            if self.aborted {
                return;
            }
            let line = strip_comment(line.strip_suffix('\r').unwrap_or(line));
            let trimmed = line.trim();
            if trimmed.is_empty() {
                continue;
            }
            let lineno = u32::try_from(idx)
                .unwrap_or(u32::MAX)
                .saturating_add(first_line);
            let at = Location::new(file.clone(), lineno);
            // keepalived recognises `include` before conditions and substitution.
            if let Some(pattern) = include_target(trimmed) {
                self.include(&at, &file, pattern, depth);
                continue;
            }
            let Some(body) = self.condition(trimmed) else {
                continue;
            };
            if let Some((name, value)) = definition(body) {
                let mut lines = Vec::new();
                let mut value = value.to_string();
                // A trailing `\` continues the definition on the next line.
                while let Some(stripped) = value.trim_end().strip_suffix('\\') {
                    let stripped = stripped.trim_end().to_string();
                    if !stripped.is_empty() {
                        lines.push(stripped);
                    }
                    match raw.next() {
                        Some((_, next)) => {
                            value = strip_comment(next.strip_suffix('\r').unwrap_or(next))
                                .trim()
                                .to_string()
                        }
                        None => {
                            self.diags.warn(
                                &at,
                                format!(
                                    "definition of ${name} ends with '\\' at the end of the file"
                                ),
                            );
                            value = String::new();
                            break;
                        }
                    }
                }
                if !value.trim().is_empty() {
                    lines.push(value.trim().to_string());
                }
                self.params.insert(name.to_string(), lines);
                continue;
            }
            if body.ends_with('\\') {
                self.diags.warn(
                    &at,
                    "a trailing '\\' continues only $NAME= definitions (as in keepalived); here it is kept as a character",
                );
            }
            self.expand_and_push(&at, file_index, body);
        }
    }

    /// Applies `@id` / `@^id`: `None` when the line is for another config id.
    fn condition<'l>(&self, line: &'l str) -> Option<&'l str> {
        let Some(rest) = line.strip_prefix('@') else {
            return Some(line);
        };
        let (negate, rest) = match rest.strip_prefix('^') {
            Some(r) => (true, r),
            None => (false, rest),
        };
        let end = rest.find(char::is_whitespace).unwrap_or(rest.len());
        let (id, body) = rest.split_at(end);
        let matches = self.config_id.as_deref() == Some(id);
        (matches != negate).then(|| body.trim())
    }

    fn expand_and_push(&mut self, at: &Location, file: u32, body: &str) {
        // Most lines have nothing to substitute: they are tokenized where they lie.
        let mut text = Cow::Borrowed(body);
        for round in 0.. {
            if round == MAX_SUBSTITUTION_ROUNDS || text.len() > MAX_EXPANDED_LINE {
                self.diags.error(
                    at,
                    "parameter substitution does not terminate (a $NAME refers to itself?)",
                );
                self.aborted = true;
                return;
            }
            match substitute(&text, &self.params) {
                Some(next) => text = Cow::Owned(next),
                None => break,
            }
        }
        if text.len() > body.len() {
            self.expanded += text.len();
            if self.expanded > MAX_EXPANDED_TOTAL {
                self.diags.error(
                    at,
                    format!("parameter substitution makes the configuration larger than {MAX_EXPANDED_TOTAL} bytes"),
                );
                self.aborted = true;
                return;
            }
        }
        // Only a substituted multi-line parameter has line breaks.
        let pieces: &mut dyn Iterator<Item = &str> = match &text {
            Cow::Borrowed(line) => &mut std::iter::once(*line),
            Cow::Owned(t) => &mut t.split('\n'),
        };
        for piece in pieces {
            let piece = piece.trim();
            if piece.is_empty() {
                continue;
            }
            // Conditions may come from a substituted parameter (`$IF_MAIN=@main`).
            let Some(piece) = self.condition(piece) else {
                continue;
            };
            if self.out.text.len().saturating_add(piece.len()) > MAX_TOKEN_TEXT {
                self.diags.error(
                    at,
                    format!("the configuration is larger than {MAX_TOKEN_TEXT} bytes"),
                );
                self.aborted = true;
                return;
            }
            let line = u32::try_from(self.out.lines.len()).unwrap_or(u32::MAX);
            if tokenize(piece, at, line, &mut self.out, self.diags) {
                self.out.lines.push(LineAt {
                    file,
                    line: at.line,
                });
            }
        }
    }

    fn include(&mut self, at: &Location, current: &Path, pattern: &str, depth: usize) {
        if self.includes == Includes::Refuse {
            self.diags.warn(
                at,
                format!("include '{pattern}' not followed for an in-memory configuration"),
            );
            return;
        }
        if depth >= MAX_INCLUDE_DEPTH {
            self.diags.error(
                at,
                format!("include '{pattern}' nested more than {MAX_INCLUDE_DEPTH} deep (an include loop?)"),
            );
            return;
        }
        let files = include_files(current, pattern);
        if let Some(r) = &mut self.record {
            r.includes.push(IncludeRecord {
                from: Arc::from(current),
                pattern: pattern.to_string(),
                files: files.clone(),
            });
        }
        if files.is_empty() {
            self.diags
                .warn(at, format!("include '{pattern}' matches no file"));
            return;
        }
        for file in files {
            match std::fs::read(&file) {
                Ok(text) => {
                    let index = self.out.files.len();
                    self.read_file(Arc::from(file.as_path()), &text, depth + 1, 1);
                    if let Some(r) = &mut self.record {
                        if r.bytes.len() <= index {
                            r.bytes.resize_with(index + 1, || None);
                        }
                        r.bytes[index] = Some(text);
                    }
                }
                Err(e) => {
                    if let Some(r) = &mut self.record {
                        r.unreadable.get_or_insert(file.clone());
                    }
                    self.diags.warn(
                        at,
                        format!("cannot read included file {}: {e}", file.display()),
                    )
                }
            }
        }
    }
}

/// The files `include PATTERN` in `current` reads, in order: braces expanded, globs
/// matched relative to `current`'s directory, sorted, duplicates removed.
pub fn include_files(current: &Path, pattern: &str) -> Vec<PathBuf> {
    let base = current.parent().unwrap_or(Path::new("."));
    let mut files = Vec::new();
    for alt in expand_braces(pattern) {
        let full = if Path::new(&alt).is_absolute() {
            PathBuf::from(&alt)
        } else {
            base.join(&alt)
        };
        files.extend(glob(&full));
    }
    files.sort();
    files.dedup();
    files
}

/// `include FILE` and its keepalived variants (`includer`, `includem`, ...).
fn include_target(line: &str) -> Option<&str> {
    if !line.starts_with("include") {
        return None;
    }
    let (word, rest) = line.split_once(char::is_whitespace)?;
    let variants = [
        "include", "includer", "includem", "includew", "includeb", "includea",
    ];
    variants
        .contains(&word)
        .then(|| unquote(rest.trim()))
        .filter(|p| !p.is_empty())
}

fn unquote(s: &str) -> &str {
    s.strip_prefix('"')
        .and_then(|s| s.strip_suffix('"'))
        .unwrap_or(s)
}

/// `$NAME=VALUE` (no space before `=`; NAME is `[A-Za-z_][A-Za-z0-9_]*`).
fn definition(line: &str) -> Option<(&str, &str)> {
    let rest = line.strip_prefix('$')?;
    let (name, value) = rest.split_once('=')?;
    is_param_name(name).then_some((name, value.trim()))
}

fn is_param_name(name: &str) -> bool {
    let mut chars = name.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// One round of substitution: `${NAME}` anywhere, `$NAME` before whitespace or the end.
/// Undefined names stay as they are. `None` when nothing was replaced.
fn substitute(text: &str, params: &Params) -> Option<String> {
    if params.is_empty() || !text.contains('$') {
        return None;
    }
    let mut out = String::with_capacity(text.len());
    let mut changed = false;
    let mut rest = text;
    while let Some(pos) = rest.find('$') {
        out.push_str(&rest[..pos]);
        let after = &rest[pos + 1..];
        let (name, consumed) = if let Some(braced) = after.strip_prefix('{') {
            match braced.find('}') {
                Some(end) => (&braced[..end], end + 2),
                None => ("", 0),
            }
        } else {
            let end = after
                .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
                .unwrap_or(after.len());
            let followed_ok = after[end..].chars().next().is_none_or(char::is_whitespace);
            if followed_ok {
                (&after[..end], end)
            } else {
                ("", 0)
            }
        };
        match params.get(name).filter(|_| consumed > 0) {
            Some(value) => {
                for (i, line) in value.iter().enumerate() {
                    if i > 0 {
                        out.push('\n');
                    }
                    out.push_str(line);
                }
                changed = true;
                rest = &after[consumed..];
                if out.len() > MAX_EXPANDED_LINE {
                    // The caller reports it; stop before growing further.
                    return Some(out);
                }
            }
            None => {
                out.push('$');
                rest = after;
            }
        }
    }
    out.push_str(rest);
    changed.then_some(out)
}

/// Cuts the line at the first `!` or `#` outside quotes. Byte-wise: every character it
/// looks for is ASCII, and no byte of a multi-byte UTF-8 character is.
fn strip_comment(line: &str) -> &str {
    let bytes = line.as_bytes();
    if !bytes.iter().any(|b| matches!(b, b'!' | b'#')) {
        return line;
    }
    let mut quote = None;
    let mut escaped = false;
    for (i, &c) in bytes.iter().enumerate() {
        if escaped {
            escaped = false;
            continue;
        }
        match (quote, c) {
            (Some(_), b'\\') => escaped = true,
            (Some(q), c) if c == q => quote = None,
            (None, b'"' | b'\'') => quote = Some(c),
            (None, b'!' | b'#') => return &line[..i],
            _ => {}
        }
    }
    line
}

/// `char::is_whitespace` for an ASCII byte (it includes the vertical tab, which
/// `u8::is_ascii_whitespace` does not).
fn ascii_space(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\n' | b'\x0b' | b'\x0c' | b'\r')
}

/// Splits a line into words and braces, appended to `out` as line number `line`; `false`
/// when the line has no token. Quotes (`"` or `'`) keep spaces and braces inside a word and
/// are removed; escapes inside quotes follow keepalived (`\n`, `\t`, `\\`, ...).
///
/// Runs of plain ASCII are copied as slices; only quotes and non-ASCII characters are
/// looked at one character at a time.
fn tokenize(
    line_text: &str,
    at: &Location,
    line: u32,
    out: &mut Tokens,
    diags: &mut Diagnostics,
) -> bool {
    let first = out.tokens.len();
    // Offsets fit: the caller checked that this line does not take the text past
    // MAX_TOKEN_TEXT (escapes only shorten a line).
    let offset = |text: &String| text.len() as u32;
    // Start of the word being read, in `out.text`.
    let mut word: Option<u32> = None;
    let flush = |word: &mut Option<u32>, out: &mut Tokens| {
        if let Some(start) = word.take() {
            out.tokens.push(Token {
                kind: TokenKind::Word,
                start,
                end: offset(&out.text),
                line,
            });
        }
    };
    let bytes = line_text.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        let b = bytes[i];
        match b {
            b if ascii_space(b) => {
                flush(&mut word, out);
                i += 1;
            }
            b'{' | b'}' => {
                flush(&mut word, out);
                let start = offset(&out.text);
                out.text.push(char::from(b));
                out.tokens.push(Token {
                    kind: if b == b'{' {
                        TokenKind::Open
                    } else {
                        TokenKind::Close
                    },
                    start,
                    end: offset(&out.text),
                    line,
                });
                i += 1;
            }
            b'"' | b'\'' => {
                word.get_or_insert(offset(&out.text));
                let q = char::from(b);
                let mut chars = line_text[i + 1..].chars();
                let mut closed = false;
                while let Some(c) = chars.next() {
                    if c == q {
                        closed = true;
                        break;
                    }
                    if c == '\\' {
                        unescape(&mut chars, &mut out.text);
                    } else {
                        out.text.push(c);
                    }
                }
                if !closed {
                    diags.warn(
                        at,
                        format!("unterminated {q}quoted string{q}: closed at the end of the line"),
                    );
                }
                i = bytes.len() - chars.as_str().len();
            }
            b if b.is_ascii() => {
                word.get_or_insert(offset(&out.text));
                let end = bytes[i..]
                    .iter()
                    .position(|&c| {
                        !c.is_ascii() || ascii_space(c) || matches!(c, b'{' | b'}' | b'"' | b'\'')
                    })
                    .map_or(bytes.len(), |n| i + n);
                out.text.push_str(&line_text[i..end]);
                i = end;
            }
            _ => {
                // The start of a multi-byte character: `i` is on a character boundary.
                let Some(c) = line_text[i..].chars().next() else {
                    break;
                };
                if c.is_whitespace() {
                    flush(&mut word, out);
                } else {
                    word.get_or_insert(offset(&out.text));
                    out.text.push(c);
                }
                i += c.len_utf8();
            }
        }
    }
    flush(&mut word, out);
    out.tokens.len() > first
}

/// Handles the character(s) after a `\` inside quotes.
fn unescape(chars: &mut std::str::Chars<'_>, out: &mut String) {
    let peek = |chars: &std::str::Chars<'_>| chars.clone().next();
    let Some(c) = chars.next() else {
        out.push('\\');
        return;
    };
    let simple = match c {
        'a' => Some('\x07'),
        'b' => Some('\x08'),
        'E' => Some('\x1b'),
        'f' => Some('\x0c'),
        'n' => Some('\n'),
        'r' => Some('\r'),
        't' => Some('\t'),
        'v' => Some('\x0b'),
        _ => None,
    };
    if let Some(s) = simple {
        out.push(s);
        return;
    }
    match c {
        'x' => {
            let mut value: u32 = 0;
            let mut digits = 0;
            while let Some(d) = peek(chars).and_then(|d| d.to_digit(16)) {
                value = (value << 4 | d) & 0xff;
                digits += 1;
                chars.next();
            }
            if digits == 0 {
                out.push('x');
            } else {
                out.push(char::from(value as u8));
            }
        }
        '0'..='7' => {
            let mut value = c.to_digit(8).unwrap_or(0);
            for _ in 0..2 {
                match peek(chars).and_then(|d| d.to_digit(8)) {
                    Some(d) => {
                        value = value * 8 + d;
                        chars.next();
                    }
                    None => break,
                }
            }
            out.push(char::from((value & 0xff) as u8));
        }
        'c' => match chars.next() {
            Some(ctl) if ctl.is_ascii() => out.push(char::from((ctl as u8) & 0x1f)),
            Some(other) => out.push(other),
            None => out.push('c'),
        },
        other => out.push(other),
    }
}

/// csh-style brace expansion: `a{b,c}d` -> `abd`, `acd` (nested braces allowed), at most
/// [`MAX_BRACE_ALTERNATIVES`] results.
fn expand_braces(pattern: &str) -> Vec<String> {
    let mut out = Vec::new();
    expand_braces_into(pattern, &mut out);
    out
}

fn expand_braces_into(pattern: &str, out: &mut Vec<String>) {
    if out.len() >= MAX_BRACE_ALTERNATIVES {
        return;
    }
    let Some(open) = pattern.find('{') else {
        out.push(pattern.to_string());
        return;
    };
    // Find the matching close and the top-level commas.
    let mut depth = 0usize;
    let mut commas = Vec::new();
    let mut close = None;
    for (i, c) in pattern[open..].char_indices() {
        let i = open + i;
        match c {
            '{' => depth += 1,
            '}' => {
                depth -= 1;
                if depth == 0 {
                    close = Some(i);
                    break;
                }
            }
            ',' if depth == 1 => commas.push(i),
            _ => {}
        }
    }
    let Some(close) = close else {
        out.push(pattern.to_string());
        return;
    };
    let (head, tail) = (&pattern[..open], &pattern[close + 1..]);
    let mut bounds = vec![open];
    bounds.extend(&commas);
    bounds.push(close);
    for pair in bounds.windows(2) {
        let alt = &pattern[pair[0] + 1..pair[1]];
        expand_braces_into(&format!("{head}{alt}{tail}"), out);
    }
}

/// Shell-style glob over path components (`*`, `?`, `[...]`); no match means no file.
fn glob(pattern: &Path) -> Vec<PathBuf> {
    let mut current = vec![PathBuf::new()];
    for comp in pattern.components() {
        let comp_str = comp.as_os_str().to_string_lossy();
        let is_pattern = comp_str.contains(['*', '?', '[']);
        let mut next = Vec::new();
        for base in &current {
            if !is_pattern {
                next.push(base.join(comp.as_os_str()));
                continue;
            }
            let dir = if base.as_os_str().is_empty() {
                Path::new(".")
            } else {
                base.as_path()
            };
            let Ok(entries) = std::fs::read_dir(dir) else {
                continue;
            };
            for entry in entries.flatten() {
                let name = entry.file_name();
                let name = name.to_string_lossy();
                // As the shell: wildcards do not match a leading dot.
                if name.starts_with('.') && !comp_str.starts_with('.') {
                    continue;
                }
                if wildcard_match(comp_str.as_bytes(), name.as_bytes()) {
                    next.push(base.join(&*name));
                }
            }
        }
        current = next;
    }
    current.into_iter().filter(|p| p.is_file()).collect()
}

/// Byte-wise `fnmatch` for one path component.
fn wildcard_match(pattern: &[u8], name: &[u8]) -> bool {
    // Iterative with single backtrack point for `*`.
    let (mut p, mut n) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while n < name.len() {
        if p < pattern.len() {
            match pattern[p] {
                b'*' => {
                    star = Some((p, n));
                    p += 1;
                    continue;
                }
                b'?' => {
                    p += 1;
                    n += 1;
                    continue;
                }
                b'[' => {
                    if let Some((matched, len)) = class_match(&pattern[p..], name[n]) {
                        if matched {
                            p += len;
                            n += 1;
                            continue;
                        }
                    } else if name[n] == b'[' {
                        p += 1;
                        n += 1;
                        continue;
                    }
                }
                c if c == name[n] => {
                    p += 1;
                    n += 1;
                    continue;
                }
                _ => {}
            }
        }
        match star {
            Some((sp, sn)) => {
                p = sp + 1;
                n = sn + 1;
                star = Some((sp, sn + 1));
            }
            None => return false,
        }
    }
    pattern[p..].iter().all(|&c| c == b'*')
}

/// Matches `[...]` at the start of `class` against `c`: (matched, pattern length), or
/// `None` when the class is not closed (then `[` is literal).
fn class_match(class: &[u8], c: u8) -> Option<(bool, usize)> {
    let mut i = 1;
    let negate = matches!(class.get(i), Some(b'!' | b'^'));
    if negate {
        i += 1;
    }
    let mut matched = false;
    let mut first = true;
    while i < class.len() {
        let lo = class[i];
        if lo == b']' && !first {
            return Some((matched != negate, i + 1));
        }
        first = false;
        if class.get(i + 1) == Some(&b'-') && class.get(i + 2).is_some_and(|&h| h != b']') {
            let hi = class[i + 2];
            matched |= (lo..=hi).contains(&c);
            i += 3;
        } else {
            matched |= lo == c;
            i += 1;
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn words(text: &str) -> Vec<Vec<String>> {
        let mut d = Diagnostics::default();
        read_root(
            Path::new("t.conf"),
            text.as_bytes(),
            Includes::Refuse,
            None,
            &mut d,
        )
        .line_words()
        .into_iter()
        .map(|l| l.into_iter().map(str::to_string).collect())
        .collect()
    }

    #[test]
    fn comments_quotes_and_braces() {
        assert_eq!(
            words("a b # c\r\nscript \"x {y} # z\" 'q'! w\nk{v}"),
            vec![
                vec!["a", "b"],
                vec!["script", "x {y} # z", "q"],
                vec!["k", "{", "v", "}"]
            ]
        );
        assert_eq!(
            words(r#"s "a\tb\"c\x41\101""#),
            vec![vec!["s", "a\tb\"cAA"]]
        );
        assert_eq!(words(r#"s ab"c d"e"#), vec![vec!["s", "abc de"]]);
    }

    #[test]
    fn parameters_substitute_recursively_and_multiline() {
        let text =
            "$B=10.2.${S}\n$S=0\nip ${B}.1 $S\n$S=9\nip ${B}.1 $Sx\n$M= \\\n a 1 \\\n b 2\n$M\n";
        assert_eq!(
            words(text),
            vec![
                vec!["ip", "10.2.0.1", "0"],
                vec!["ip", "10.2.9.1", "$Sx"],
                vec!["a", "1"],
                vec!["b", "2"]
            ]
        );
    }

    #[test]
    fn byte_order_mark_and_stray_backslash() {
        assert_eq!(
            words("\u{feff}global_defs {"),
            vec![vec!["global_defs", "{"]]
        );
        let mut d = Diagnostics::default();
        let lines = read_root(
            Path::new("t"),
            b"a b \\\nc\n",
            Includes::Refuse,
            None,
            &mut d,
        );
        assert_eq!(lines.lines.len(), 2);
        assert_eq!(d.into_vec().len(), 1);
    }

    #[test]
    fn self_referencing_parameter_is_an_error_not_a_hang() {
        let mut d = Diagnostics::default();
        read_root(
            Path::new("t"),
            b"$A=x $A\n$A\n",
            Includes::Refuse,
            None,
            &mut d,
        );
        assert!(d.has_errors());
    }

    #[test]
    fn conditions() {
        let mut d = Diagnostics::default();
        let mut r = Reader::new(Includes::Refuse, None, Some("main"), &mut d);
        r.read_file(
            Arc::from(Path::new("t")),
            b"@main a\n@backup b\n@^main c\n@^x d\n$C=@main\n$C e\n",
            0,
            1,
        );
        let got: Vec<_> = r.out.line_words().iter().map(|l| l[0]).collect();
        assert_eq!(got, vec!["a", "d", "e"]);
    }

    #[test]
    fn globbing() {
        assert!(wildcard_match(b"*.conf", b"a.conf"));
        assert!(!wildcard_match(b"*.conf", b"a.conf~"));
        assert!(wildcard_match(b"a?[0-9]*", b"ab7"));
        assert!(wildcard_match(b"[!x]", b"y"));
        assert!(!wildcard_match(b"[!x]", b"x"));
        assert_eq!(expand_braces("a{b,c{d,e}}f"), vec!["abf", "acdf", "acef"]);
    }
}
