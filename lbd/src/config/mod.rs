//! keepalived.conf: reader, parser, typed model, diagnostics.
//!
//! The pipeline is: [`reader`] turns files into logical lines (includes, comments,
//! `$NAME=` substitution, `@` conditions), [`tree`] groups tokens into a tree of
//! `keyword args { children }` statements, and [`build`] walks the tree with the keyword
//! tables of each block into the typed [`model`], checking values and cross references.

pub mod build;
pub mod diag;
pub mod incremental;
pub mod model;
pub mod reader;
pub mod tree;
mod values;

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use crate::cli::DaemonArgs;
pub use diag::{Diagnostic, Location, Severity};
pub use incremental::{reload_incremental, Outcome, Source};
pub use model::*;

/// Why a configuration could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The main file itself could not be read.
    #[error("cannot read {}: {source}", path.display())]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    /// The configuration has errors; `diagnostics` holds them and the warnings, in order.
    #[error("{} error(s) in the configuration", count_errors(diagnostics))]
    Invalid { diagnostics: Vec<Diagnostic> },
}

fn count_errors(diagnostics: &[Diagnostic]) -> usize {
    diagnostics.iter().filter(|d| d.is_error()).count()
}

/// How to read a configuration.
#[derive(Debug, Clone, Default)]
pub struct LoadOptions {
    /// keepalived's `-i`/`--config-id`: selects `@ID` lines. `None`: the host name up to
    /// the first dot, as keepalived.
    pub config_id: Option<String>,
}

/// Reads `path` (and what it includes) into the typed model.
pub fn load(path: &Path) -> Result<Loaded, ConfigError> {
    load_with(path, &LoadOptions::default())
}

/// [`load`] with options.
pub fn load_with(path: &Path, options: &LoadOptions) -> Result<Loaded, ConfigError> {
    let text = std::fs::read(path).map_err(|source| ConfigError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    let mut diags = diag::Diagnostics::default();
    let tokens = reader::read_root(
        path,
        &text,
        reader::Includes::Follow,
        options.config_id.as_deref(),
        &mut diags,
    );
    drop(text);
    finish(tokens, diags, None)
}

/// [`load_with`], also returning the [`Source`] that [`reload_incremental`] needs: the
/// bytes of every file read and where each top-level statement is.
pub fn load_tracked(path: &Path, options: &LoadOptions) -> Result<(Loaded, Source), ConfigError> {
    let text = std::fs::read(path).map_err(|source| ConfigError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    let mut diags = diag::Diagnostics::default();
    let (tokens, record) =
        reader::read_root_recorded(path, &text, options.config_id.as_deref(), &mut diags);
    let files = tokens.files.clone();
    let mut seen = Vec::new();
    let loaded = finish(tokens, diags, Some(&mut seen))?;
    let source = Source::new(options.clone(), text, files, record, seen);
    Ok((loaded, source))
}

/// Parses an in-memory configuration named `name` (for tests and fuzzing).
/// `include` lines are reported and not followed, so no file is ever read.
pub fn load_str(name: &str, text: &str) -> Result<Loaded, ConfigError> {
    let mut diags = diag::Diagnostics::default();
    let tokens = reader::read_root(
        Path::new(name),
        text.as_bytes(),
        reader::Includes::Refuse,
        None,
        &mut diags,
    );
    finish(tokens, diags, None)
}

/// Tree and model from the tokens. `seen`: where to note each top-level statement (for
/// [`load_tracked`]).
fn finish(
    tokens: reader::Tokens,
    mut diags: diag::Diagnostics,
    mut seen: Option<&mut Vec<incremental::Seen>>,
) -> Result<Loaded, ConfigError> {
    let parts = tokens.into_parts();
    let words = reader::words(&parts.text, &parts.tokens);
    // Each top-level block is built as soon as it closes, and its statements dropped. The
    // messages still come in the order of the steps (reader, tree, model): sorting by line
    // keeps the order of messages about one line.
    let mut tree_diags = diag::Diagnostics::default();
    let mut builder = build::Builder::new();
    tree::parse_each(&parts, &words, &mut tree_diags, |n, extent| {
        match seen.as_deref_mut() {
            None => builder.top(&n),
            Some(seen) => {
                let before = builder.virtual_server_count();
                builder.top(&n);
                let made = (builder.virtual_server_count() > before).then_some(before);
                seen.extend(incremental::Seen::new(&parts, &n, extent, made));
            }
        }
    });
    drop(parts.tokens);
    drop(parts.lines);
    let (config, build_diags) = builder.finish();
    diags.append(tree_diags);
    diags.append(build_diags);
    let has_errors = diags.has_errors();
    let diagnostics = in_reading_order(diags.into_vec());
    if has_errors {
        return Err(ConfigError::Invalid { diagnostics });
    }
    Ok(Loaded {
        config,
        warnings: diagnostics,
    })
}

/// Sorts by file (in the order files were first mentioned) then line; stable, so messages
/// about one line keep the order they were found in.
fn in_reading_order(mut list: Vec<Diagnostic>) -> Vec<Diagnostic> {
    let mut files: Vec<std::sync::Arc<Path>> = Vec::new();
    for d in &list {
        if !files.contains(&d.file) {
            files.push(d.file.clone());
        }
    }
    list.sort_by_key(|d| (files.iter().position(|f| *f == d.file), d.line));
    list
}

/// `lbd -t -f FILE`: prints every diagnostic to stderr; exit 0 when there is no error
/// (warnings allowed), 1 otherwise, like `keepalived -t`. Like keepalived it also warns
/// about interfaces this host does not have, which `load` does not (the daemon may be
/// started before they exist).
pub fn check_main(args: &DaemonArgs) -> ExitCode {
    match load(&args.config) {
        Ok(loaded) => {
            for w in &loaded.warnings {
                eprintln!("{w}");
            }
            let missing = missing_interfaces(&loaded.config, Path::new("/sys/class/net"));
            for w in &missing {
                eprintln!("{w}");
            }
            eprintln!(
                "{}: configuration OK ({} vrrp instance(s), {} virtual server(s), {} warning(s))",
                args.config.display(),
                loaded.config.instances.len(),
                loaded.config.virtual_servers.len(),
                loaded.warnings.len() + missing.len()
            );
            ExitCode::SUCCESS
        }
        Err(ConfigError::Invalid { diagnostics }) => {
            for d in &diagnostics {
                eprintln!("{d}");
            }
            eprintln!(
                "{}: configuration has {} error(s)",
                args.config.display(),
                count_errors(&diagnostics)
            );
            ExitCode::FAILURE
        }
        Err(e) => {
            eprintln!("lbd: {e}");
            ExitCode::FAILURE
        }
    }
}

/// Warnings for interfaces named by instances (`interface`, VIP `dev`, `track_interface`)
/// that do not exist under `sysfs_net` (normally `/sys/class/net`).
pub fn missing_interfaces(config: &Config, sysfs_net: &Path) -> Vec<Diagnostic> {
    if !sysfs_net.is_dir() {
        return Vec::new();
    }
    let mut out = Vec::new();
    let mut check = |name: &str, at: &Location, role: &str| {
        if !sysfs_net.join(name).exists() {
            out.push(Diagnostic::new(
                Severity::Warning,
                at,
                format!("interface {name} ({role}) does not exist on this host"),
            ));
        }
    };
    for i in &config.instances {
        if let Some(ifname) = &i.interface {
            check(ifname, &i.origin, &format!("vrrp_instance {}", i.name));
        }
        for vip in i
            .virtual_ipaddresses
            .iter()
            .chain(&i.virtual_ipaddresses_excluded)
        {
            if let Some(dev) = &vip.dev {
                check(dev, &vip.origin, &format!("address {}", vip.addr));
            }
        }
        for t in &i.track_interfaces {
            check(
                &t.name,
                &i.origin,
                &format!("tracked by vrrp_instance {}", i.name),
            );
        }
    }
    out
}
