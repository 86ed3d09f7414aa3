//! keepalived's wording for state transitions, so operators' log filters and habits carry over
//! (`(VI_1) Entering MASTER STATE`, `(VI_1) Receive advertisement timeout`, ...).

use vrrp_core::{Reason, State, VirtualRouter};

pub fn state_change(
    name: &str,
    from: State,
    to: State,
    reason: Reason,
    router: Option<&VirtualRouter>,
) {
    // The cause first, as keepalived logs it before the transition.
    match reason {
        Reason::AdvertTimeout => tracing::info!("({name}) Receive advertisement timeout"),
        Reason::PriorityZero if to == State::Master => {
            tracing::info!("({name}) Backup received priority 0 advertisement")
        }
        Reason::HigherPriorityAdvert | Reason::EqualPriorityHigherAddress => {
            match router.and_then(VirtualRouter::master) {
                Some(peer) => tracing::info!(
                    "({name}) Master received advert from {} with higher priority {}, ours {}",
                    peer.addr,
                    peer.priority,
                    router.map_or(0, VirtualRouter::priority)
                ),
                None => tracing::info!("({name}) {reason}"),
            }
        }
        Reason::Fault(id) => tracing::info!("({name}) tracked object {id} is down"),
        Reason::FaultRecovered => tracing::info!("({name}) tracked objects are up again"),
        Reason::SyncGroup => tracing::info!("({name}) following its sync group"),
        Reason::Startup | Reason::Shutdown | Reason::PriorityZero | Reason::LowerPriorityAdvert => {
        }
    }
    match to {
        State::Master => tracing::info!("({name}) Entering MASTER STATE"),
        State::Backup if reason == Reason::Startup => {
            tracing::info!("({name}) Entering BACKUP STATE (init)")
        }
        State::Backup => tracing::info!("({name}) Entering BACKUP STATE"),
        State::Fault => tracing::info!("({name}) Entering FAULT STATE"),
        State::Initialize if from == State::Master => tracing::info!("({name}) sent 0 priority"),
        State::Initialize => tracing::info!("({name}) stopped"),
    }
}
