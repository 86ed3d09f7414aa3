//! `lbd plan -f NEW.conf`: what a reload to `NEW.conf` would change, printed and not applied.
//!
//! IPVS: the kernel's table is read (never written) and [`crate::lvs::plan::plan`] says which
//! requests the reload would send, one line each. Addresses: the virtual and static addresses
//! the new file adds or drops, compared with the running configuration (`--current`).
//!
//! Exit codes: 0 the plan was printed, 1 the kernel could not be read, 2 a configuration is
//! invalid.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::Args;
use ipvs_sys::{Client, Table};

use crate::config::{self, Config, VirtualIp};

#[derive(Debug, Args)]
pub struct PlanArgs {
    /// The configuration a reload would load.
    #[arg(short = 'f', long = "use-file", value_name = "FILE")]
    pub new: PathBuf,
    /// The configuration the daemon runs; ignored when the file does not exist (then
    /// services the new file does not name are left alone, as at a cold start).
    #[arg(long, value_name = "FILE", default_value = crate::cli::DEFAULT_CONFIG)]
    pub current: PathBuf,
}

pub fn main(args: &PlanArgs) -> ExitCode {
    let new = match load(&args.new) {
        Ok(c) => c,
        Err(code) => return code,
    };
    let current = if args.current.exists() && args.current != args.new {
        match load(&args.current) {
            Ok(c) => Some(c),
            Err(code) => return code,
        }
    } else {
        None
    };
    let kernel = match Client::connect().and_then(|mut c| c.table()) {
        Ok(dump) => Table::from_dump(&dump),
        Err(ipvs_sys::Error::FamilyNotFound) if new.virtual_servers.is_empty() => Table::new(),
        Err(ipvs_sys::Error::FamilyNotFound) => {
            eprintln!("note: the kernel has no IPVS; planning against an empty table");
            Table::new()
        }
        Err(e) => {
            eprintln!("lbd plan: cannot read the IPVS table: {e}");
            return ExitCode::FAILURE;
        }
    };
    match render(current.as_ref(), &new, &kernel) {
        Ok(lines) => {
            for l in lines {
                println!("{l}");
            }
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("lbd plan: {e}");
            ExitCode::from(2)
        }
    }
}

fn load(path: &Path) -> Result<Config, ExitCode> {
    match config::load(path) {
        Ok(l) => Ok(l.config),
        Err(e) => {
            if let config::ConfigError::Invalid { diagnostics } = &e {
                for d in diagnostics {
                    eprintln!("{d}");
                }
            }
            eprintln!("lbd plan: {}: {e}", path.display());
            Err(ExitCode::from(2))
        }
    }
}

/// The plan as printed: IPVS changes, services left alone, address changes; or
/// `No change.`.
pub fn render(
    current: Option<&Config>,
    new: &Config,
    kernel: &Table,
) -> Result<Vec<String>, crate::lvs::plan::PlanError> {
    let p = crate::lvs::plan::plan(current, new, kernel)?;
    let mut out: Vec<String> = p.lines.iter().map(|l| format!("IPVS: {l}")).collect();
    let changes = out.len();
    if let Some(cur) = current {
        let (before, after) = (addresses(cur), addresses(new));
        out.extend(after.difference(&before).map(|a| format!("address: + {a}")));
        out.extend(before.difference(&after).map(|a| format!("address: - {a}")));
    }
    let changed = !out.is_empty();
    for key in &p.foreign {
        out.push(format!(
            "IPVS: = {key} (not in the configuration; left alone)"
        ));
    }
    if !changed {
        out.insert(0, "No change.".to_string());
    } else {
        out.push(format!(
            "{changes} IPVS request(s); nothing applied (this is a plan)"
        ));
    }
    Ok(out)
}

/// Every address the configuration puts on an interface, as one line each: the virtual
/// addresses (while MASTER) with their instance, and the static ones.
fn addresses(cfg: &Config) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    for inst in &cfg.instances {
        let dev = inst.interface.as_deref().unwrap_or("?");
        for v in inst
            .virtual_ipaddresses
            .iter()
            .chain(&inst.virtual_ipaddresses_excluded)
        {
            out.insert(format!(
                "{} (instance {}, while MASTER)",
                addr(v, dev),
                inst.name
            ));
        }
    }
    for v in &cfg.static_ipaddresses {
        out.insert(format!("{} (static)", addr(v, "?")));
    }
    out
}

fn addr(v: &VirtualIp, dev: &str) -> String {
    format!(
        "{}/{} dev {}",
        v.addr,
        v.prefix_len,
        v.dev.as_deref().unwrap_or(dev)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cfg(text: &str) -> Config {
        config::load_str("p.conf", text).unwrap().config
    }

    const OLD: &str = "vrrp_instance VI {\n interface eth0\n virtual_router_id 7\n priority 100\n \
        virtual_ipaddress {\n 192.0.2.10/24\n }\n}\n\
        virtual_server 192.0.2.10 80 {\n lb_kind DR\n real_server 198.51.100.1 80 {\n weight 1\n }\n}\n";

    #[test]
    fn a_weight_edit_and_a_new_vip_are_planned() {
        let new = OLD
            .replace("weight 1", "weight 5")
            .replace("192.0.2.10/24\n", "192.0.2.10/24\n 192.0.2.11/24\n");
        let old = cfg(OLD);
        let kernel = crate::lvs::desired::healthy_table(&old).unwrap();
        let lines = render(Some(&old), &cfg(&new), &kernel).unwrap();
        assert_eq!(lines.len(), 3, "{lines:?}");
        assert!(lines[0].starts_with("IPVS: ~") && lines[0].contains("198.51.100.1:80"));
        assert_eq!(
            lines[1],
            "address: + 192.0.2.11/24 dev eth0 (instance VI, while MASTER)"
        );
        assert!(lines[2].starts_with("1 IPVS request"));
    }

    #[test]
    fn the_same_configuration_plans_no_change() {
        let old = cfg(OLD);
        let kernel = crate::lvs::desired::healthy_table(&old).unwrap();
        assert_eq!(
            render(Some(&old), &old, &kernel).unwrap(),
            vec!["No change.".to_string()]
        );
    }
}
