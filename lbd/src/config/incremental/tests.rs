//! Every edit either falls back to a full load or gives exactly the model (and the block's
//! messages) a full load of the new files gives; the common edits take the fast path.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};

use proptest::prelude::*;

use super::{reload_incremental, Outcome, Source};
use crate::config::{load_tracked, ConfigError, Diagnostic, LoadOptions, Loaded};

/// A temporary directory, removed when dropped.
struct Dir(PathBuf);

impl Dir {
    fn new() -> Dir {
        static N: AtomicUsize = AtomicUsize::new(0);
        let dir = std::env::temp_dir().join(format!(
            "lbd-incremental-{}-{}",
            std::process::id(),
            N.fetch_add(1, Ordering::Relaxed)
        ));
        std::fs::create_dir_all(dir.join("conf.d")).unwrap();
        Dir(dir)
    }

    fn path(&self, name: &str) -> PathBuf {
        self.0.join(name)
    }

    fn write(&self, name: &str, text: &str) {
        std::fs::write(self.path(name), text).unwrap();
    }

    fn read(&self, name: &str) -> String {
        std::fs::read_to_string(self.path(name)).unwrap()
    }
}

impl Drop for Dir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn options() -> LoadOptions {
    LoadOptions {
        config_id: Some("main".into()),
    }
}

fn real_server(addr: &str, weight: u32) -> String {
    format!(
        "  real_server {addr} 80 {{\n    weight {weight}\n    TCP_CHECK {{\n      connect_timeout 3\n    }}\n  }}\n"
    )
}

fn virtual_server(key: &str, servers: &[&str]) -> String {
    let mut s = format!("virtual_server {key} {{\n  delay_loop 5\n  lb_algo wrr\n  protocol TCP\n");
    for rs in servers {
        s += &real_server(rs, 1);
    }
    s + "}\n"
}

/// A virtual server first, then one block of every kind that has a line, so that an edit
/// that shifts lines is checked against all of them; an include in the middle.
fn main_conf() -> String {
    let mut s = String::from("global_defs {\n  router_id t\n}\nvrrp_track_file tf {\n  file /nonexistent/tf\n}\nvirtual_server_group g1 {\n  192.0.2.50 80\n}\n");
    s += &virtual_server("192.0.2.1 80", &["10.0.0.1", "10.0.0.2"]);
    s.insert_str(
        s.len() - 2,
        "  real_server 10.0.0.3 80 {\n    FILE_CHECK {\n      track_file tf\n    }\n  }\n",
    );
    s += "# a comment between blocks\n\n";
    s += &virtual_server("group g1", &["10.0.1.1"]);
    s += &virtual_server("fwmark 7", &["10.0.2.1", "10.0.2.2"]);
    s += "vrrp_script chk {\n  script \"/bin/true\"\n}\n";
    s += "vrrp_instance VI {\n  state BACKUP\n  interface lo\n  virtual_router_id 5\n  priority 100\n  virtual_ipaddress {\n    192.0.2.100/24\n  }\n  virtual_ipaddress_excluded {\n    192.0.2.101/24\n  }\n  track_script {\n    chk\n  }\n}\n";
    s += "static_ipaddress {\n  192.0.2.200/24 dev lo\n}\n";
    s += "vrrp_sync_group SG {\n  group {\n    VI\n  }\n}\n";
    s += "include conf.d/*.conf\n";
    s += &virtual_server("192.0.2.9 80", &["10.0.9.1"]);
    s
}

fn setup() -> Dir {
    let dir = Dir::new();
    dir.write("main.conf", &main_conf());
    dir.write(
        "conf.d/a.conf",
        &virtual_server("192.0.2.20 80", &["10.0.20.1", "10.0.20.2"]),
    );
    dir.write(
        "conf.d/b.conf",
        &virtual_server("192.0.2.21 80", &["10.0.21.1"]),
    );
    dir
}

fn load(dir: &Dir) -> Result<(Loaded, Source), ConfigError> {
    load_tracked(&dir.path("main.conf"), &options())
}

/// Reloads `dir` incrementally after an edit and checks the outcome against a full load:
/// `Full` changes nothing; `Patched` gives the full load's model, and its warnings are the
/// full load's about the lines of the patched blocks. Returns the outcome and leaves
/// `state` as the caller would (patched, or fully reloaded).
fn check(dir: &Dir, state: &mut (Loaded, Source)) -> Outcome {
    let before = state.0.config.clone();
    let source_before = state.1.clone();
    let outcome = reload_incremental(&mut state.1, &mut state.0.config);
    let fresh = load(dir);
    if !is_patch(&outcome) {
        assert_eq!(state.1.statements(), source_before.statements());
        for (a, b) in state.1.files().iter().zip(source_before.files()) {
            assert_eq!((&a.path, &a.bytes), (&b.path, &b.bytes));
        }
    }
    match &outcome {
        Outcome::Unchanged => assert_eq!(state.0.config, before),
        Outcome::Full { .. } => {
            assert_eq!(state.0.config, before, "a fallback changed the model");
            if let Ok(fresh) = fresh {
                *state = fresh;
            }
        }
        Outcome::Patched {
            virtual_servers,
            warnings,
        } => {
            let fresh = match fresh {
                Ok(f) => f,
                Err(e) => panic!("patched, but a full load fails: {e:?}"),
            };
            assert_eq!(state.0.config, fresh.0.config, "patched model differs");
            let mut expected: Vec<Diagnostic> = Vec::new();
            for &i in virtual_servers {
                let s = fresh
                    .1
                    .statements()
                    .iter()
                    .find(|s| s.entry == super::Entry::VirtualServer(i))
                    .unwrap();
                let file = &fresh.1.files()[s.file].path;
                expected.extend(
                    fresh
                        .0
                        .warnings
                        .iter()
                        .filter(|w| w.file == *file && (s.line..=s.last_line).contains(&w.line))
                        .cloned(),
                );
            }
            assert_eq!(*warnings, expected);
            assert_eq!(
                state.1.statements(),
                fresh.1.statements(),
                "patched source differs"
            );
            for (a, b) in state.1.files().iter().zip(fresh.1.files()) {
                assert_eq!((&a.path, &a.bytes), (&b.path, &b.bytes));
            }
        }
    }
    outcome
}

fn is_patch(o: &Outcome) -> bool {
    matches!(o, Outcome::Patched { .. })
}

/// Replaces the first `from` after the first `after` in `text`.
fn replace_after(text: &str, after: &str, from: &str, to: &str) -> String {
    let base = text.find(after).expect(after);
    let at = base + text[base..].find(from).expect(from);
    format!("{}{to}{}", &text[..at], &text[at + from.len()..])
}

type Edit = fn(&Dir);

fn edit_main(f: impl Fn(&str) -> String, dir: &Dir) {
    let text = dir.read("main.conf");
    dir.write("main.conf", &f(&text));
}

const VS0: &str = "virtual_server 192.0.2.1 80";

/// (name, edit, whether it must take the fast path).
const EDITS: &[(&str, Edit, bool)] = &[
    ("nothing", |_| {}, false),
    (
        "weight",
        |d| edit_main(|t| replace_after(t, VS0, "weight 1", "weight 7"), d),
        true,
    ),
    (
        "timeout",
        |d| {
            edit_main(
                |t| replace_after(t, VS0, "connect_timeout 3", "connect_timeout 9"),
                d,
            )
        },
        true,
    ),
    (
        "weight of the last",
        |d| {
            edit_main(
                |t| replace_after(t, "192.0.2.9 80", "weight 1", "weight 70"),
                d,
            )
        },
        true,
    ),
    (
        "weight after the include",
        |d| edit_main(|t| replace_after(t, "fwmark 7", "weight 1", "weight 0"), d),
        true,
    ),
    (
        "group vs weight",
        |d| {
            edit_main(
                |t| replace_after(t, "virtual_server group", "weight 1", "weight 3"),
                d,
            )
        },
        true,
    ),
    (
        "add a real server",
        |d| {
            edit_main(
                |t| {
                    replace_after(
                        t,
                        VS0,
                        "  real_server 10.0.0.2",
                        &(real_server("10.0.0.9", 4) + "  real_server 10.0.0.2"),
                    )
                },
                d,
            )
        },
        true,
    ),
    (
        "remove a real server",
        |d| edit_main(|t| t.replacen(&real_server("10.0.0.2", 1), "", 1), d),
        true,
    ),
    (
        "comment inside",
        |d| {
            edit_main(
                |t| replace_after(t, VS0, "  lb_algo", "  # note\n  lb_algo"),
                d,
            )
        },
        true,
    ),
    (
        "comment between",
        |d| {
            edit_main(
                |t| t.replace("a comment between", "another comment\n# between"),
                d,
            )
        },
        true,
    ),
    (
        "blank line before the instance",
        |d| edit_main(|t| t.replace("vrrp_instance VI", "\nvrrp_instance VI"), d),
        true,
    ),
    (
        "unknown keyword warns",
        |d| {
            edit_main(
                |t| replace_after(t, VS0, "  lb_algo", "  lb_algoo x\n  lb_algo"),
                d,
            )
        },
        true,
    ),
    (
        "included file",
        |d| {
            let t = d.read("conf.d/a.conf");
            d.write("conf.d/a.conf", &t.replacen("weight 1", "weight 5", 1));
        },
        true,
    ),
    (
        "included file gains a real server",
        |d| {
            let t = d.read("conf.d/a.conf");
            d.write(
                "conf.d/a.conf",
                &t.replacen(
                    "  real_server 10.0.20.2",
                    &(real_server("10.0.20.7", 2) + "  real_server 10.0.20.2"),
                    1,
                ),
            );
        },
        true,
    ),
    (
        "new glob match",
        |d| {
            d.write(
                "conf.d/c.conf",
                &virtual_server("192.0.2.22 80", &["10.0.22.1"]),
            )
        },
        false,
    ),
    (
        "two files",
        |d| {
            edit_main(|t| replace_after(t, VS0, "weight 1", "weight 7"), d);
            let t = d.read("conf.d/a.conf");
            d.write("conf.d/a.conf", &t.replacen("weight 1", "weight 5", 1));
        },
        false,
    ),
    (
        "three blocks, and the lines between",
        |d| {
            edit_main(
                |t| {
                    replace_after(
                        &replace_after(t, VS0, "weight 1", "weight 7"),
                        "fwmark 7",
                        "weight 1",
                        "weight 6",
                    )
                },
                d,
            )
        },
        true,
    ),
    (
        "break the braces",
        |d| edit_main(|t| replace_after(t, VS0, "    }\n  }\n", "    }\n"), d),
        false,
    ),
    (
        "extra closing brace",
        |d| {
            edit_main(
                |t| replace_after(t, VS0, "  lb_algo wrr", "  lb_algo wrr }"),
                d,
            )
        },
        false,
    ),
    (
        "a virtual server and the instance",
        |d| {
            edit_main(
                |t| {
                    let t = t.replace("priority 100", "priority 101");
                    replace_after(&t, VS0, "weight 1", "weight 7")
                },
                d,
            )
        },
        false,
    ),
    (
        "global_defs",
        |d| edit_main(|t| t.replace("router_id t", "router_id u"), d),
        false,
    ),
    (
        "instance",
        |d| edit_main(|t| t.replace("priority 100", "priority 101"), d),
        false,
    ),
    (
        "port",
        |d| edit_main(|t| t.replace(VS0, "virtual_server 192.0.2.1 81"), d),
        false,
    ),
    (
        "protocol",
        |d| edit_main(|t| replace_after(t, VS0, "protocol TCP", "protocol UDP"), d),
        false,
    ),
    (
        "group name",
        |d| {
            edit_main(
                |t| t.replace("virtual_server group g1", "virtual_server group g2"),
                d,
            )
        },
        false,
    ),
    (
        "duplicate key",
        |d| edit_main(|t| t.replace("virtual_server 192.0.2.9 80", VS0), d),
        false,
    ),
    (
        "parameter",
        |d| {
            edit_main(
                |t| replace_after(&format!("$W=3\n{t}"), VS0, "weight 1", "weight $W"),
                d,
            )
        },
        false,
    ),
    (
        "parameter defined inside",
        |d| edit_main(|t| replace_after(t, VS0, "  lb_algo", "$W=3\n  lb_algo"), d),
        false,
    ),
    (
        "condition",
        |d| {
            edit_main(
                |t| replace_after(t, VS0, "  lb_algo wrr", "@main lb_algo rr"),
                d,
            )
        },
        false,
    ),
    (
        "include inside",
        |d| {
            edit_main(
                |t| replace_after(t, VS0, "  lb_algo", "  include none.conf\n  lb_algo"),
                d,
            )
        },
        false,
    ),
    (
        "bad weight",
        |d| edit_main(|t| replace_after(t, VS0, "weight 1", "weight 99999999"), d),
        false,
    ),
    (
        "undefined track file",
        |d| {
            edit_main(
                |t| t.replace("track_file tf\n    }", "track_file nope\n    }"),
                d,
            )
        },
        false,
    ),
    (
        "new virtual server",
        |d| {
            edit_main(
                |t| {
                    t.replace(
                        "# a comment between blocks\n",
                        &virtual_server("192.0.2.30 80", &["10.0.30.1"]),
                    )
                },
                d,
            )
        },
        false,
    ),
    (
        "uncommented line",
        |d| edit_main(|t| t.replace("# a comment between", "a comment between"), d),
        false,
    ),
    (
        "remove a virtual server",
        |d| {
            edit_main(
                |t| {
                    t.replacen(
                        &virtual_server("fwmark 7", &["10.0.2.1", "10.0.2.2"]),
                        "",
                        1,
                    )
                },
                d,
            )
        },
        false,
    ),
    (
        "shared line",
        |d| {
            edit_main(
                |t| t.replacen("}\nvirtual_server fwmark 7", "} virtual_server fwmark 7", 1),
                d,
            )
        },
        false,
    ),
];

#[test]
fn each_edit_is_patched_exactly_or_falls_back() {
    for (name, edit, fast) in EDITS {
        let dir = setup();
        let mut state = load(&dir).unwrap_or_else(|e| panic!("{name}: {e:?}"));
        edit(&dir);
        eprintln!("edit: {name}");
        let outcome = check(&dir, &mut state);
        assert_eq!(is_patch(&outcome), *fast, "{name}: {outcome:?}");
        if *name == "nothing" {
            assert_eq!(outcome, Outcome::Unchanged);
        }
        // Then the source must still describe the files: a further edit is exact too, and
        // fast when the state is a load of the files as they are.
        let in_sync = load(&dir).is_ok() && *name != "shared line";
        if dir.read("main.conf").contains("192.0.2.9 80") {
            edit_main(
                |t| replace_after(t, "192.0.2.9 80", "delay_loop 5", "delay_loop 6"),
                &dir,
            );
            let again = check(&dir, &mut state);
            assert_eq!(is_patch(&again), in_sync, "{name}, then an edit: {again:?}");
        }
        if in_sync {
            assert_eq!(check(&dir, &mut state), Outcome::Unchanged, "{name}");
        }
    }
}

#[test]
fn patched_warnings_are_the_full_loads() {
    let dir = setup();
    let mut state = load(&dir).unwrap();
    edit_main(
        |t| replace_after(t, VS0, "  lb_algo", "  lb_algoo x\n  lb_algo"),
        &dir,
    );
    let Outcome::Patched { warnings, .. } = check(&dir, &mut state) else {
        panic!("not patched");
    };
    // Checked against the full load by `check`; here, that there is one to compare.
    assert_eq!(warnings.len(), 1, "{warnings:?}");
    assert_eq!(warnings[0].line, 12);
}

/// One random edit of main.conf: by line, so that edits land anywhere, valid or not.
#[derive(Debug, Clone)]
enum RandomEdit {
    Weight(usize, u32),
    Timeout(usize, u32),
    AddRealServer(usize),
    RemoveRealServer(usize),
    InsertLine(usize, &'static str),
    DeleteLine(usize),
    DuplicateLine(usize),
    /// Joins a line to the next one.
    JoinLine(usize),
    DeleteByte(usize),
    InsertByte(usize, u8),
}

fn random_edit() -> impl Strategy<Value = RandomEdit> {
    prop_oneof![
        3 => (0..20usize, 0..300u32).prop_map(|(i, w)| RandomEdit::Weight(i, w)),
        2 => (0..20usize, 1..30u32).prop_map(|(i, t)| RandomEdit::Timeout(i, t)),
        2 => (0..20usize).prop_map(RandomEdit::AddRealServer),
        1 => (0..20usize).prop_map(RandomEdit::RemoveRealServer),
        2 => (0..120usize, prop::sample::select(vec!["", "# c", "  ! note", "  }", "x 1", "  weight 2"]))
            .prop_map(|(i, l)| RandomEdit::InsertLine(i, l)),
        1 => (0..120usize).prop_map(RandomEdit::DeleteLine),
        1 => (0..120usize).prop_map(RandomEdit::DuplicateLine),
        1 => (0..120usize).prop_map(RandomEdit::JoinLine),
        1 => (0..4000usize).prop_map(RandomEdit::DeleteByte),
        1 => (0..4000usize, prop::sample::select(b"{}\n #$@~x1\"".to_vec()))
            .prop_map(|(i, c)| RandomEdit::InsertByte(i, c)),
    ]
}

/// Applies `e` to `text`; `n` makes added real servers unique.
fn apply(text: &str, e: &RandomEdit, n: usize) -> String {
    match *e {
        RandomEdit::DeleteByte(i) if !text.is_empty() => {
            let mut b = text.as_bytes().to_vec();
            b.remove(i % b.len());
            return String::from_utf8_lossy(&b).into_owned();
        }
        RandomEdit::InsertByte(i, c) => {
            let mut b = text.as_bytes().to_vec();
            b.insert(i % (b.len() + 1), c);
            return String::from_utf8_lossy(&b).into_owned();
        }
        _ => {}
    }
    let mut lines: Vec<String> = text.lines().map(str::to_string).collect();
    let nth = |lines: &[String], what: &str, i: usize| {
        let found: Vec<usize> = (0..lines.len())
            .filter(|&k| lines[k].trim_start().starts_with(what))
            .collect();
        (!found.is_empty()).then(|| found[i % found.len()])
    };
    match *e {
        RandomEdit::Weight(i, w) => {
            if let Some(k) = nth(&lines, "weight ", i) {
                lines[k] = format!("    weight {w}");
            }
        }
        RandomEdit::Timeout(i, t) => {
            if let Some(k) = nth(&lines, "connect_timeout ", i) {
                lines[k] = format!("      connect_timeout {t}");
            }
        }
        RandomEdit::AddRealServer(i) => {
            if let Some(k) = nth(&lines, "real_server ", i) {
                let rs = real_server(&format!("10.1.{}.{}", n / 250, n % 250 + 1), 3);
                for (j, l) in rs.lines().enumerate() {
                    lines.insert(k + j, l.to_string());
                }
            }
        }
        RandomEdit::RemoveRealServer(i) => {
            if let Some(k) = nth(&lines, "real_server ", i) {
                if lines.get(k + 1).is_some_and(|l| l.contains("weight")) {
                    lines.drain(k..(k + 6).min(lines.len()));
                }
            }
        }
        RandomEdit::InsertLine(i, l) => {
            let k = i % (lines.len() + 1);
            lines.insert(k, l.to_string());
        }
        RandomEdit::DeleteLine(i) => {
            if !lines.is_empty() {
                let k = i % lines.len();
                lines.remove(k);
            }
        }
        RandomEdit::JoinLine(i) => {
            if lines.len() > 1 {
                let k = i % (lines.len() - 1);
                let next = lines.remove(k + 1);
                lines[k] = format!("{} {next}", lines[k]);
            }
        }
        RandomEdit::DeleteByte(_) | RandomEdit::InsertByte(..) => {}
        RandomEdit::DuplicateLine(i) => {
            if !lines.is_empty() {
                let k = i % lines.len();
                let l = lines[k].clone();
                lines.insert(k, l);
            }
        }
    }
    lines.join("\n") + "\n"
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]

    /// Any sequence of edits, each reloaded incrementally: every patch gives the model of
    /// a full load, and while the edits keep the structure (weights, timeouts, real
    /// servers added or removed) and the configuration valid, each is patched.
    #[test]
    fn random_edit_sequences(edits in prop::collection::vec(random_edit(), 1..6)) {
        let dir = setup();
        let mut state = load(&dir).unwrap();
        // The state is a load of the file as it was before the edit, and every edit so far
        // kept the structure.
        let mut clean = true;
        for (n, e) in edits.iter().enumerate() {
            let old = dir.read("main.conf");
            let new = apply(&old, e, n);
            dir.write("main.conf", &new);
            let valid = load(&dir).is_ok();
            let outcome = check(&dir, &mut state);
            clean &= matches!(
                e,
                RandomEdit::Weight(..)
                    | RandomEdit::Timeout(..)
                    | RandomEdit::AddRealServer(_)
                    | RandomEdit::RemoveRealServer(_)
            );
            if clean && valid && new != old {
                prop_assert!(is_patch(&outcome), "{e:?}: {outcome:?}");
            }
            // As the daemon, an invalid file leaves what was loaded running.
            clean &= valid;
        }
    }
}

#[test]
fn unchanged_needs_every_file_identical() {
    let dir = setup();
    let mut state = load(&dir).unwrap();
    assert_eq!(check(&dir, &mut state), Outcome::Unchanged);
    std::fs::remove_file(dir.path("conf.d/b.conf")).unwrap();
    assert!(matches!(check(&dir, &mut state), Outcome::Full { .. }));
}

#[test]
fn source_records_files_includes_and_spans() {
    let dir = setup();
    let (loaded, source) = load(&dir).unwrap();
    let paths: Vec<&Path> = source.files().iter().map(|f| &*f.path).collect();
    assert_eq!(
        paths,
        vec![
            &*dir.path("main.conf"),
            &*dir.path("conf.d/a.conf"),
            &*dir.path("conf.d/b.conf")
        ]
    );
    assert_eq!(source.includes().len(), 1);
    assert_eq!(source.includes()[0].pattern, "conf.d/*.conf");
    assert_eq!(source.includes()[0].files.len(), 2);
    for s in source.statements() {
        let text = &source.files()[s.file].bytes[s.span.clone()];
        let text = std::str::from_utf8(text).unwrap();
        assert!(text.starts_with(&*s.keyword), "{text}");
        assert!(text.ends_with("}\n"), "{text}");
        assert_eq!(text.lines().count() as u32, s.last_line - s.line + 1);
        if let super::Entry::VirtualServer(i) = s.entry {
            assert_eq!(loaded.config.virtual_servers[i].origin.line, s.line);
        }
    }
    let vs = source
        .statements()
        .iter()
        .filter(|s| matches!(s.entry, super::Entry::VirtualServer(_)))
        .count();
    assert_eq!(vs, loaded.config.virtual_servers.len());
}

/// The configurations users write: a comment line added inside each virtual server in
/// turn (shifting every later line) is patched, and exactly.
#[test]
fn corpus_virtual_servers_take_the_fast_path() {
    let data = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data");
    let mut tried = 0;
    for sub in ["shared", "lvs"] {
        let mut files: Vec<PathBuf> = std::fs::read_dir(data.join(sub))
            .unwrap()
            .map(|e| e.unwrap().path())
            .collect();
        files.sort();
        for path in files {
            let dir = Dir::new();
            std::fs::copy(&path, dir.path("main.conf")).unwrap();
            let Ok(mut state) = load(&dir) else {
                continue;
            };
            assert_eq!(check(&dir, &mut state), Outcome::Unchanged);
            let count = state.1.statements().len();
            for k in 0..count {
                let s = state.1.statements()[k].clone();
                let super::Entry::VirtualServer(i) = s.entry else {
                    continue;
                };
                let bytes = &state.1.files()[s.file].bytes;
                let risky = super::risky(&bytes[s.span.clone()]).is_some();
                let first_line_end = s.span.start
                    + bytes[s.span.clone()]
                        .iter()
                        .position(|&b| b == b'\n')
                        .unwrap()
                    + 1;
                let mut new = bytes.clone();
                new.splice(first_line_end..first_line_end, *b"  # edited\n");
                std::fs::write(&state.1.files()[s.file].path, &new).unwrap();
                let outcome = check(&dir, &mut state);
                if !risky {
                    assert!(
                        matches!(&outcome, Outcome::Patched { virtual_servers, .. } if *virtual_servers == [i]),
                        "{}: {}: {outcome:?}",
                        path.display(),
                        s.line
                    );
                    tried += 1;
                }
            }
        }
    }
    assert!(tried >= 10, "only {tried} virtual servers tried");
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    /// The chunked comparison finds the longest common prefix, then the longest common
    /// suffix of the rest, across chunk and block boundaries, and rebuilds any range of the
    /// new file from the old bytes and the middle.
    #[test]
    fn a_change_is_read_in_chunks_exactly(
        len in 0usize..300_000,
        at in 0usize..300_000,
        cut in 0usize..70_000,
        insert in proptest::collection::vec(any::<u8>(), 0..70_000),
        ranges in proptest::collection::vec((0usize..400_000, 0usize..400_000), 4),
    ) {
        let old: Vec<u8> = (0..len).map(|i| (i * 7 % 251) as u8).collect();
        let at = at.min(len);
        let cut = cut.min(len - at);
        let mut new = old[..at].to_vec();
        new.extend_from_slice(&insert);
        new.extend_from_slice(&old[at + cut..]);
        let dir = Dir::new();
        std::fs::write(dir.path("f"), &new).unwrap();
        let change = super::Change::read(&dir.path("f"), &old).unwrap();
        let Some(change) = change else {
            prop_assert_eq!(&old, &new);
            return Ok(());
        };
        let n = old.len().min(new.len());
        let prefix = old.iter().zip(&new).take_while(|(a, b)| a == b).count();
        prop_assert_eq!(change.prefix, prefix);
        let suffix = old[prefix..]
            .iter()
            .rev()
            .zip(new[prefix..].iter().rev())
            .take(n - prefix)
            .take_while(|(a, b)| a == b)
            .count();
        prop_assert_eq!(change.suffix, suffix);
        prop_assert_eq!(change.new_len, new.len());
        prop_assert_eq!(&change.new_bytes(&old, 0..new.len()), &new);
        for (a, b) in ranges {
            let (a, b) = (a.min(new.len()), b.min(new.len()));
            let (a, b) = (a.min(b), a.max(b));
            prop_assert_eq!(&change.new_bytes(&old, a..b), &new[a..b]);
        }
    }
}
