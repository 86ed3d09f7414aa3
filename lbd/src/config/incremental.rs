//! Incremental reload: when a reload changes only the inside of `virtual_server` blocks,
//! re-read just those blocks instead of the whole configuration (issue 6: one `weight`
//! edited in a 4 MB file must reach the kernel in milliseconds, and a full re-parse takes
//! 73 ms).
//!
//! [`super::load_tracked`] keeps a [`Source`]: the bytes of every file read, what every
//! `include` expanded to, and the byte span of every top-level statement. On reload,
//! [`reload_incremental`] re-reads the files; if exactly one changed, the common prefix and
//! suffix of its old and new bytes give the changed region; if the statements that region
//! touches are all `virtual_server`s (usually one), only the new text of their lines (and
//! the blank or comment lines between) goes through the reader, the tree and the builder,
//! with the same line numbers, and the results replace the entries in the running
//! [`Config`].
//!
//! Whenever the edit could change how anything else is read (parameters, conditions,
//! includes, braces, the service's identity) or the block has an error, the answer is
//! [`Outcome::Full`] and nothing is changed: the caller's full load then produces the
//! usual report, and a bad file never costs the running configuration.

use std::ops::Range;
use std::path::Path;
use std::sync::Arc;

use super::build;
use super::diag::{Diagnostic, Diagnostics, Location};
use super::model::{Config, VirtualServer};
use super::reader::{self, IncludeRecord, LineAt, Parts, Record};
use super::tree::{self, Extent, Node};
use super::LoadOptions;

/// What [`reload_incremental`] did.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    /// No file changed and every `include` expands to the same files: nothing to do.
    Unchanged,
    /// `config.virtual_servers[i]` was replaced for each `i` listed (possibly none, when
    /// only comments or blank lines changed). The line numbers of the [`Location`]s after
    /// the edit, in that file, were shifted when it added or removed lines. `warnings`:
    /// those of the re-read block, as a full load reports them.
    Patched {
        virtual_servers: Vec<usize>,
        warnings: Vec<Diagnostic>,
    },
    /// The change needs a full load; why, for a debug log. Nothing was changed.
    Full { reason: String },
}

fn full(reason: impl Into<String>) -> Outcome {
    Outcome::Full {
        reason: reason.into(),
    }
}

/// Which [`Config`] entry a top-level statement made.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Entry {
    /// `config.virtual_servers[i]`.
    VirtualServer(usize),
    /// Anything else (or nothing).
    Other,
}

/// A file read by the last load.
#[derive(Clone)]
pub struct SourceFile {
    /// The same `Arc` as the [`Location`]s of the statements read from it.
    pub path: Arc<Path>,
    pub bytes: Vec<u8>,
    /// Two top-level statements share a line somewhere in it (`} virtual_server ... {`):
    /// line-granular spans cannot separate them, so no change to it is incremental.
    pub shared_lines: bool,
}

/// The length, not the bytes: a debug log of a [`Source`] must not print megabytes.
impl std::fmt::Debug for SourceFile {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SourceFile")
            .field("path", &self.path)
            .field("bytes", &self.bytes.len())
            .field("shared_lines", &self.shared_lines)
            .finish()
    }
}

/// Where a top-level statement is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Statement {
    /// Index in [`Source::files`].
    pub file: usize,
    /// Bytes `[start, end)` of its lines in the file: from the start of its first line to
    /// the start of the line after its last (whole lines, so the trailing comment is in).
    pub span: Range<usize>,
    /// Its first and last lines (1-based).
    pub line: u32,
    pub last_line: u32,
    pub keyword: Box<str>,
    pub entry: Entry,
    /// It ends in another file than it starts (an `include` inside it).
    pub split: bool,
}

/// What the last (full or incremental) load read: see the module documentation.
#[derive(Debug, Clone)]
pub struct Source {
    options: LoadOptions,
    files: Vec<SourceFile>,
    includes: Vec<IncludeRecord>,
    statements: Vec<Statement>,
    /// Why no reload of this load can be incremental.
    never: Option<String>,
}

/// A top-level statement as the full load saw it (before byte spans are known).
#[derive(Debug)]
pub(super) struct Seen {
    first: LineAt,
    last: LineAt,
    keyword: Box<str>,
    entry: Entry,
}

impl Seen {
    /// `made`: the index of the virtual server the statement made, if it made one.
    pub(super) fn new(
        parts: &Parts,
        n: &Node,
        extent: Extent,
        made: Option<usize>,
    ) -> Option<Self> {
        Some(Seen {
            first: *parts.lines.get(extent.first as usize)?,
            last: *parts.lines.get(extent.last as usize)?,
            keyword: n.keyword.into(),
            entry: made.map_or(Entry::Other, Entry::VirtualServer),
        })
    }
}

impl Source {
    /// From what a full load read: the root file's `root` bytes, the reader's `files` and
    /// [`Record`], and the statements in reading order.
    pub(super) fn new(
        options: LoadOptions,
        root: Vec<u8>,
        files: Vec<Arc<Path>>,
        record: Record,
        seen: Vec<Seen>,
    ) -> Self {
        let mut never = record
            .unreadable
            .map(|p| format!("included file {} could not be read", p.display()));
        let mut bytes = record.bytes;
        bytes.resize_with(files.len(), || None);
        let mut root = Some(root);
        let files: Vec<SourceFile> = files
            .into_iter()
            .zip(bytes)
            .enumerate()
            .map(|(i, (path, b))| {
                let b = if i == 0 { root.take() } else { b };
                let bytes = b.unwrap_or_else(|| {
                    never.get_or_insert_with(|| format!("{} was not kept", path.display()));
                    Vec::new()
                });
                SourceFile {
                    path,
                    bytes,
                    shared_lines: false,
                }
            })
            .collect();
        let mut source = Source {
            options,
            files,
            includes: record.includes,
            statements: Vec::with_capacity(seen.len()),
            never,
        };
        source.place(seen);
        source
    }

    /// Turns line numbers into byte spans, one forward pass over each file.
    fn place(&mut self, seen: Vec<Seen>) {
        let mut cursors: Vec<LineCursor> = self
            .files
            .iter()
            .map(|f| LineCursor::new(&f.bytes, 1))
            .collect();
        let mut last_line: Vec<u32> = vec![0; self.files.len()];
        let mut shared = vec![false; self.files.len()];
        for s in seen {
            let file = s.first.file as usize;
            let (Some(cursor), Some(prev)) = (cursors.get_mut(file), last_line.get_mut(file))
            else {
                continue;
            };
            let split = s.last.file != s.first.file || s.last.line < s.first.line;
            let last = if split { s.first.line } else { s.last.line };
            if s.first.line <= *prev {
                // Shares a line with the statement before (or lines went backwards).
                shared[file] = true;
                continue;
            }
            let start = cursor.start_of(s.first.line);
            let end = cursor.start_of(last.saturating_add(1));
            *prev = last;
            self.statements.push(Statement {
                file,
                span: start..end,
                line: s.first.line,
                last_line: last,
                keyword: s.keyword,
                entry: s.entry,
                split,
            });
        }
        drop(cursors);
        for (f, shared) in self.files.iter_mut().zip(shared) {
            f.shared_lines = shared;
        }
    }

    /// Every file read, in reading order (a file included twice is there twice).
    pub fn files(&self) -> &[SourceFile] {
        &self.files
    }

    /// Every `include` followed, in reading order.
    pub fn includes(&self) -> &[IncludeRecord] {
        &self.includes
    }

    /// Every top-level statement, in reading order (those sharing a line with another are
    /// left out; their file is marked [`SourceFile::shared_lines`]).
    pub fn statements(&self) -> &[Statement] {
        &self.statements
    }
}

/// Finds byte offsets of line starts going forward through one file. Newlines are counted
/// a block at a time (the compiler vectorises the count), so a pass over a large file
/// costs about what reading it does.
struct LineCursor<'b> {
    bytes: &'b [u8],
    pos: usize,
    /// The line that starts at `pos`.
    line: u32,
}

impl<'b> LineCursor<'b> {
    fn new(bytes: &'b [u8], line: u32) -> Self {
        LineCursor {
            bytes,
            pos: 0,
            line,
        }
    }

    /// Offset of the start of line `line` (the end of the text when it has fewer lines);
    /// `line` must not be before the cursor.
    fn start_of(&mut self, line: u32) -> usize {
        const BLOCK: usize = 64;
        while self.line < line && self.pos < self.bytes.len() {
            let need = (line - self.line) as usize;
            let rest = &self.bytes[self.pos..];
            let block = &rest[..rest.len().min(BLOCK)];
            let n = count_newlines(block);
            if n < need {
                self.pos += block.len();
                self.line += n as u32;
                continue;
            }
            // The line starts in this block: find it byte by byte.
            let mut seen = 0;
            for (k, &b) in block.iter().enumerate() {
                if b == b'\n' {
                    seen += 1;
                    if seen == need {
                        self.pos += k + 1;
                        self.line = line;
                        break;
                    }
                }
            }
        }
        self.pos
    }
}

/// Counts `\n` in `bytes`: 64 bytes at a time into a `u8`, which the compiler turns into
/// vector compares (a `filter().count()` over `usize` stayed byte by byte).
fn count_newlines(bytes: &[u8]) -> usize {
    let chunks = bytes.chunks_exact(64);
    let tail = chunks.remainder();
    let per_chunk = |c: &[u8]| c.iter().fold(0u8, |n, &b| n + u8::from(b == b'\n'));
    chunks.map(|c| usize::from(per_chunk(c))).sum::<usize>() + usize::from(per_chunk(tail))
}

/// Re-reads the files of `source` and brings `config` (what `source` was loaded with, or
/// patched since) up to date without a full load when the change allows: see [`Outcome`].
/// On [`Outcome::Patched`] both are updated; otherwise neither is. After
/// [`Outcome::Full`], the caller's full load should come with a new [`Source`]
/// ([`super::load_tracked`]).
pub fn reload_incremental(source: &mut Source, config: &mut Config) -> Outcome {
    if let Some(why) = &source.never {
        return full(why.clone());
    }
    for inc in &source.includes {
        if reader::include_files(&inc.from, &inc.pattern) != inc.files {
            return full(format!(
                "include '{}' in {} now matches other files",
                inc.pattern,
                inc.from.display()
            ));
        }
    }
    let mut changed = None;
    for (i, f) in source.files.iter().enumerate() {
        match Change::read(&f.path, &f.bytes) {
            Ok(None) => {}
            Ok(Some(_)) if changed.is_some() => return full("more than one file changed"),
            Ok(Some(c)) => changed = Some((i, c)),
            Err(e) => return full(format!("cannot read {}: {e}", f.path.display())),
        }
    }
    let Some((file, change)) = changed else {
        return Outcome::Unchanged;
    };
    match plan(source, config, file, &change) {
        Ok(patch) => patch.apply(source, config, file, change),
        Err(reason) => full(reason),
    }
}

/// How a file differs from the bytes last read: `old[..prefix]` and the last `suffix` bytes
/// are still there, `middle` is what is now between them.
///
/// The file is compared as it is read, through one small buffer, rather than read whole
/// into a new one: a new 4 MB buffer costs a page fault per page, more than the
/// comparison itself, and the edit is usually a few bytes.
struct Change {
    prefix: usize,
    suffix: usize,
    middle: Vec<u8>,
    new_len: usize,
}

/// The reads that compare a file: large enough to make few system calls, small enough to
/// stay in the cache.
const COMPARE_CHUNK: usize = 64 * 1024;

impl Change {
    /// `None` when `path` holds exactly `old`. A file that changes size while it is read
    /// is an error (the caller then reads everything again).
    fn read(path: &Path, old: &[u8]) -> std::io::Result<Option<Change>> {
        use std::os::unix::fs::FileExt;
        let file = std::fs::File::open(path)?;
        let size = |f: &std::fs::File| -> std::io::Result<usize> {
            usize::try_from(f.metadata()?.len()).map_err(std::io::Error::other)
        };
        let new_len = size(&file)?;
        let mut buf = vec![0u8; COMPARE_CHUNK];
        let n = old.len().min(new_len);
        let mut prefix = 0;
        while prefix < n {
            let want = COMPARE_CHUNK.min(n - prefix);
            file.read_exact_at(&mut buf[..want], prefix as u64)?;
            let same = common_prefix(&buf[..want], &old[prefix..prefix + want]);
            prefix += same;
            if same < want {
                break;
            }
        }
        if prefix == n && old.len() == new_len {
            return Ok(None);
        }
        let room = n - prefix;
        let mut suffix = 0;
        while suffix < room {
            let want = COMPARE_CHUNK.min(room - suffix);
            file.read_exact_at(&mut buf[..want], (new_len - suffix - want) as u64)?;
            let o = &old[old.len() - suffix - want..old.len() - suffix];
            let same = common_suffix(&buf[..want], o);
            suffix += same;
            if same < want {
                break;
            }
        }
        let mut middle = vec![0u8; new_len - prefix - suffix];
        file.read_exact_at(&mut middle, prefix as u64)?;
        if size(&file)? != new_len {
            return Err(std::io::Error::other("the file changed while it was read"));
        }
        Ok(Some(Change {
            prefix,
            suffix,
            middle,
            new_len,
        }))
    }

    /// The new file's bytes `range` (within it), from the old bytes and `middle`.
    fn new_bytes(&self, old: &[u8], range: Range<usize>) -> Vec<u8> {
        let middle_end = self.prefix + self.middle.len();
        let mut out = Vec::with_capacity(range.len());
        if range.start < self.prefix {
            out.extend_from_slice(&old[range.start..self.prefix.min(range.end)]);
        }
        let (a, b) = (range.start.max(self.prefix), range.end.min(middle_end));
        if a < b {
            out.extend_from_slice(&self.middle[a - self.prefix..b - self.prefix]);
        }
        if range.end > middle_end {
            // Bytes after the middle are the old suffix, shifted by the change in length.
            let shift = old.len() as isize - self.new_len as isize;
            let from = range.start.max(middle_end).saturating_add_signed(shift);
            let to = range.end.saturating_add_signed(shift);
            out.extend_from_slice(&old[from..to]);
        }
        out
    }
}

/// How many leading bytes `a` and `b` share: memcmp over blocks, bytes only in the block
/// that differs.
fn common_prefix(a: &[u8], b: &[u8]) -> usize {
    const BLOCK: usize = 4096;
    let n = a.len().min(b.len());
    let mut p = 0;
    while p + BLOCK <= n && a[p..p + BLOCK] == b[p..p + BLOCK] {
        p += BLOCK;
    }
    p + a[p..n]
        .iter()
        .zip(&b[p..n])
        .take_while(|(x, y)| x == y)
        .count()
}

/// How many trailing bytes `a` and `b` share.
fn common_suffix(a: &[u8], b: &[u8]) -> usize {
    const BLOCK: usize = 4096;
    let n = a.len().min(b.len());
    let (ea, eb) = (a.len(), b.len());
    let mut s = 0;
    while s + BLOCK <= n && a[ea - s - BLOCK..ea - s] == b[eb - s - BLOCK..eb - s] {
        s += BLOCK;
    }
    s + a[..ea - s]
        .iter()
        .rev()
        .zip(b[..eb - s].iter().rev())
        .take_while(|(x, y)| x == y)
        .count()
}

/// A checked change, applied only once nothing can fail any more.
struct Patch {
    /// The statements replaced (index in `Source::statements`), with their new places
    /// and entries; none when only lines outside any statement changed.
    replaced: Vec<(usize, Statement, VirtualServer)>,
    /// Statements from this index on (in the file) move by `bytes` and `lines`.
    after: usize,
    bytes: isize,
    lines: i64,
    /// The first line after the old text that was re-read.
    after_line: u32,
    warnings: Vec<Diagnostic>,
}

/// The lines to re-read: the statements the change is in and the lines between them
/// (and those between them and their neighbours when the change reaches into them), or
/// only lines between two statements.
struct Region {
    /// The statements, as indices in `Source::statements`, in order.
    targets: Vec<usize>,
    /// Bytes of the old file; `start` is a line start, `end` one or the end of the file.
    start: usize,
    end: usize,
    /// The line at `start`.
    first_line: u32,
    /// The first statement after the region (an index in `Source::statements`).
    after: usize,
}

/// Where the change `[p, old_end)` of `file` (old bytes) lies.
fn locate(source: &Source, file: usize, p: usize, old_end: usize) -> Region {
    let len = source.files[file].bytes.len();
    // The statements of this file, in order (their spans are increasing).
    let in_file: Vec<usize> = (0..source.statements.len())
        .filter(|&i| source.statements[i].file == file)
        .collect();
    let st = |k: usize| &source.statements[in_file[k]];
    let prev_end = |k: usize| if k == 0 { 0 } else { st(k - 1).span.end };
    let next_start = |k: usize| {
        in_file
            .get(k)
            .map_or(len, |&i| source.statements[i].span.start)
    };
    let line_after = |k: usize| if k == 0 { 1 } else { st(k - 1).last_line + 1 };
    let after = |k: usize| in_file.get(k).copied().unwrap_or(source.statements.len());
    // The statements touched are `first..last` (spans are increasing); none when
    // `first == last`, the change then lies between `first - 1` and `first`.
    let first = (0..in_file.len())
        .take_while(|&k| st(k).span.end <= p)
        .count();
    let last = first
        + (first..in_file.len())
            .take_while(|&k| st(k).span.start < old_end)
            .count();
    if first == last {
        return Region {
            targets: Vec::new(),
            start: prev_end(first),
            end: next_start(first),
            first_line: line_after(first),
            after: after(first),
        };
    }
    let (a, b) = (st(first), st(last - 1));
    let (start, first_line) = if p >= a.span.start {
        (a.span.start, a.line)
    } else {
        (prev_end(first), line_after(first))
    };
    let end = if old_end <= b.span.end {
        b.span.end
    } else {
        next_start(last)
    };
    Region {
        targets: in_file[first..last].to_vec(),
        start,
        end,
        first_line,
        after: after(last),
    }
}

/// A top-level statement of re-read text: keyword, first and last line, and the virtual
/// server it made.
type Reread = (String, Option<u32>, Option<u32>, Option<VirtualServer>);

/// Reads, parses and builds `text` (lines of `file` from `first_line` on) as a full load
/// would, checking virtual servers against `config`; the statements and the messages, in
/// the order a full load gives them.
fn reread(
    file: &Arc<Path>,
    text: &[u8],
    first_line: u32,
    config_id: Option<&str>,
    config: &Config,
) -> (Vec<Reread>, Vec<Diagnostic>, bool) {
    let mut d = Diagnostics::default();
    let tokens = reader::read_fragment(file.clone(), text, first_line, config_id, &mut d);
    let parts = tokens.into_parts();
    let words = reader::words(&parts.text, &parts.tokens);
    let mut tree_d = Diagnostics::default();
    let mut build_d = Diagnostics::default();
    let mut built = Vec::new();
    tree::parse_each(&parts, &words, &mut tree_d, |n, extent| {
        let line = |l: u32| parts.lines.get(l as usize).map(|l| l.line);
        let made = build::rebuilt_virtual_server(&mut build_d, &n, config);
        built.push((
            n.keyword.to_string(),
            line(extent.first),
            line(extent.last),
            made,
        ));
    });
    d.append(tree_d);
    d.append(build_d);
    let errors = d.has_errors();
    let mut messages = d.into_vec();
    // As the full load: by line, stable.
    messages.sort_by_key(|m| m.line);
    (built, messages, errors)
}

/// Decides whether the change of `file` to `new` can be patched, and how.
fn plan(source: &Source, config: &Config, file: usize, change: &Change) -> Result<Patch, String> {
    let f = &source.files[file];
    if f.shared_lines {
        return Err(format!(
            "{}: two top-level statements share a line",
            f.path.display()
        ));
    }
    let old = &f.bytes[..];
    let (prefix, suffix) = (change.prefix, change.suffix);
    let region = locate(source, file, prefix, old.len() - suffix);
    let targets: Vec<&Statement> = region
        .targets
        .iter()
        .map(|&t| &source.statements[t])
        .collect();
    for s in &targets {
        if s.split {
            return Err("a changed statement ends in another file".into());
        }
        if !matches!(s.entry, Entry::VirtualServer(_)) {
            return Err(format!("the change is in a {} statement", s.keyword));
        }
    }
    let delta = change.new_len as isize - old.len() as isize;
    let old_text = &old[region.start..region.end];
    let new_end = region.end.checked_add_signed(delta).ok_or("bad span")?;
    if region.start > new_end || new_end > change.new_len {
        return Err("bad span".into());
    }
    let new_text = &change.new_bytes(old, region.start..new_end)[..];
    // The text before `start` is unchanged and ends a line; the new text must end one too
    // (or the file), else what follows on its last line would be left out.
    if new_end < change.new_len && !new_text.ends_with(b"\n") {
        return Err("the change joins a line to the next statement".into());
    }
    if let Some(why) = risky(old_text).or_else(|| risky(new_text)) {
        return Err(format!("the changed lines hold {why}"));
    }
    if region.start > 0 && new_text.starts_with("\u{feff}".as_bytes()) {
        return Err("a byte-order mark inside the file".into());
    }
    let old_lines = count_newlines(old_text);
    let (built, warnings, errors) = reread(
        &f.path,
        new_text,
        region.first_line,
        source.options.config_id.as_deref(),
        config,
    );
    if targets.is_empty() && !(built.is_empty() && warnings.is_empty()) {
        return Err("a line between statements now means something".into());
    }
    if errors {
        return Err("a changed virtual_server has errors".into());
    }
    if built.len() != targets.len() {
        return Err(format!(
            "{} statement(s) became {}",
            targets.len(),
            built.len()
        ));
    }
    let mut cursor = LineCursor::new(new_text, region.first_line);
    let mut replaced = Vec::with_capacity(targets.len());
    for ((&at, s), (keyword, line, last_line, made)) in
        region.targets.iter().zip(targets).zip(built)
    {
        let (Some(line), Some(last_line)) = (line, last_line) else {
            return Err("a changed statement has no line".into());
        };
        if keyword != *s.keyword {
            return Err(format!("{} became {keyword}", s.keyword));
        }
        let vs = made.ok_or("a changed virtual_server was not built")?;
        let current = match s.entry {
            Entry::VirtualServer(i) => config.virtual_servers.get(i),
            Entry::Other => None,
        }
        .filter(|c| c.origin == Location::new(f.path.clone(), s.line))
        .ok_or("the Config is not the one this Source describes")?;
        if vs.key != current.key || vs.protocol != current.protocol {
            return Err(format!(
                "virtual_server {} changed its address or protocol",
                current.key
            ));
        }
        let start = region.start + cursor.start_of(line);
        let end = region.start + cursor.start_of(last_line.saturating_add(1));
        let placed = Statement {
            span: start..end,
            line,
            last_line,
            split: false,
            ..s.clone()
        };
        replaced.push((at, placed, vs));
    }
    Ok(Patch {
        replaced,
        after: region.after,
        bytes: delta,
        lines: count_newlines(new_text) as i64 - old_lines as i64,
        after_line: region.first_line.saturating_add(old_lines as u32),
        warnings,
    })
}

impl Patch {
    fn apply(
        self,
        source: &mut Source,
        config: &mut Config,
        file: usize,
        change: Change,
    ) -> Outcome {
        let path = source.files[file].path.clone();
        if self.lines != 0 {
            shift_lines(config, &path, self.after_line, self.lines);
        }
        for s in source.statements[self.after..]
            .iter_mut()
            .filter(|s| s.file == file)
        {
            s.span = shift(s.span.start, self.bytes)..shift(s.span.end, self.bytes);
            s.line = shift_line(s.line, self.lines);
            s.last_line = shift_line(s.last_line, self.lines);
        }
        let mut patched = Vec::new();
        for (at, placed, vs) in self.replaced {
            if let Entry::VirtualServer(i) = placed.entry {
                if let Some(slot) = config.virtual_servers.get_mut(i) {
                    *slot = vs;
                    patched.push(i);
                }
            }
            source.statements[at] = placed;
        }
        let bytes = &mut source.files[file].bytes;
        let end = bytes.len() - change.suffix;
        bytes.splice(change.prefix..end, change.middle);
        Outcome::Patched {
            virtual_servers: patched,
            warnings: self.warnings,
        }
    }
}

fn shift(offset: usize, by: isize) -> usize {
    offset.saturating_add_signed(by)
}

fn shift_line(line: u32, by: i64) -> u32 {
    u32::try_from(i64::from(line) + by).unwrap_or(line)
}

/// What in `text` could change how other statements are read, so that it cannot be
/// re-read alone: parameters (`$`, defined anywhere, used anywhere after), `@` conditions,
/// `include`, and `~` (keepalived's sequence expansion, which lbd does not know: kept
/// out so that adding it later cannot go wrong here).
fn risky(text: &[u8]) -> Option<&'static str> {
    if text.contains(&b'$') {
        return Some("a '$' parameter");
    }
    if text.contains(&b'~') {
        return Some("a '~'");
    }
    if text.windows(7).any(|w| w == b"include") {
        return Some("'include'");
    }
    let condition = text
        .split(|&b| b == b'\n')
        .any(|l| l.iter().find(|b| !b.is_ascii_whitespace()) == Some(&b'@'));
    condition.then_some("an '@' condition")
}

/// Moves every [`Location`] of `config` in `file` at or after `from` by `by` lines: the
/// lines after an edit that added or removed some. Lists each kind of entry with a line;
/// a new one in the model must be added here (the tests compare with a full load).
fn shift_lines(config: &mut Config, file: &Arc<Path>, from: u32, by: i64) {
    let mv = |at: &mut Location| {
        if at.line >= from
            && (Arc::ptr_eq(&at.file, file) || at.file.as_os_str() == file.as_os_str())
        {
            at.line = shift_line(at.line, by);
        }
    };
    for s in &mut config.vrrp_scripts {
        mv(&mut s.origin);
    }
    for t in &mut config.track_files {
        mv(&mut t.origin);
    }
    for g in &mut config.sync_groups {
        mv(&mut g.origin);
    }
    for i in &mut config.instances {
        mv(&mut i.origin);
        for v in i
            .virtual_ipaddresses
            .iter_mut()
            .chain(&mut i.virtual_ipaddresses_excluded)
        {
            mv(&mut v.origin);
        }
    }
    for v in &mut config.static_ipaddresses {
        mv(&mut v.origin);
    }
    for g in &mut config.virtual_server_groups {
        mv(&mut g.origin);
    }
    for vs in &mut config.virtual_servers {
        mv(&mut vs.origin);
        for rs in &mut vs.real_servers {
            mv(&mut rs.origin);
            for c in &mut rs.checkers {
                mv(&mut c.origin);
            }
        }
    }
}

#[cfg(test)]
mod tests;
