//! What the engine tells its caller: state changes with their cause, actions to apply to the
//! system, and rejected packets.

use std::fmt;
use std::net::IpAddr;

use crate::track::TrackerId;
use crate::wire::{RxError, WireError};

/// The RFC 5798 §6.4 states.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum State {
    /// Not running: before start or after [`shutdown`](crate::VirtualRouter::shutdown).
    Initialize,
    Backup,
    Master,
    /// keepalived's FAULT: a weight-0 tracker is down (or a sync-group peer is in FAULT).
    Fault,
}

impl fmt::Display for State {
    /// keepalived's spelling, as in "Entering MASTER STATE".
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            State::Initialize => "INIT",
            State::Backup => "BACKUP",
            State::Master => "MASTER",
            State::Fault => "FAULT",
        })
    }
}

/// Why something happened. `Display` uses keepalived's log wording so operators recognise it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Reason {
    /// The instance was started.
    Startup,
    /// The instance was stopped.
    Shutdown,
    /// Backup: no advert for Master_Down_Interval.
    AdvertTimeout,
    /// Backup: the master announced it is leaving (priority 0) and Skew_Time passed.
    /// Master: a peer sent priority 0, we answered with an advert.
    PriorityZero,
    /// Master: a peer advertised a higher priority.
    HigherPriorityAdvert,
    /// Master: a peer advertised our priority from a higher primary address.
    EqualPriorityHigherAddress,
    /// Master: a peer advertised a lower priority; we re-assert at once (keepalived behaviour).
    LowerPriorityAdvert,
    /// A weight-0 tracker went down.
    Fault(TrackerId),
    /// All weight-0 trackers are up again.
    FaultRecovered,
    /// Another member of the sync group moved, and we follow it.
    SyncGroup,
}

impl fmt::Display for Reason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Reason::Startup => f.write_str("startup"),
            Reason::Shutdown => f.write_str("shutdown"),
            Reason::AdvertTimeout => f.write_str("Receive advertisement timeout"),
            Reason::PriorityZero => f.write_str("received priority 0"),
            Reason::HigherPriorityAdvert => f.write_str("Received advert with higher priority"),
            Reason::EqualPriorityHigherAddress => {
                f.write_str("Received advert with same priority but higher IP address")
            }
            Reason::LowerPriorityAdvert => f.write_str("received lower priority advert"),
            Reason::Fault(id) => write!(f, "tracker {id} down"),
            Reason::FaultRecovered => f.write_str("tracked objects up"),
            Reason::SyncGroup => f.write_str("sync group transition"),
        }
    }
}

/// Why a received packet was not acted upon. The daemon counts these by [`label`](Self::label).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum DropReason {
    /// Rejected by [`wire::validate`](crate::wire::validate).
    #[error(transparent)]
    Invalid(#[from] RxError),
    /// Our own advert looped back (multicast loop, or a misconfigured peer list).
    #[error("advert from our own primary address")]
    OwnAdvert,
}

impl DropReason {
    /// Stable snake_case label for counters.
    pub fn label(&self) -> &'static str {
        match self {
            DropReason::Invalid(e) => e.label(),
            DropReason::OwnAdvert => "own_advert",
        }
    }
}

/// One thing the caller must know or do, in order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Event {
    /// The router changed state.
    StateChanged {
        from: State,
        to: State,
        reason: Reason,
    },
    /// Install the virtual addresses ([`RouterConfig::vips`](crate::RouterConfig::vips)).
    AddVips,
    /// Remove the virtual addresses.
    RemoveVips,
    /// Send `count` gratuitous ARPs (IPv4) / unsolicited neighbour advertisements (IPv6) for each
    /// virtual address, so switches and hosts learn the new master.
    Announce { count: u32 },
    /// We answered a peer's advert with an immediate advert of our own (priority 0 or a lower
    /// priority from a peer that believes it is master).
    ///
    /// With [`higher_prio_send_advert`](crate::RouterConfigBuilder::higher_prio_send_advert),
    /// also the advert a master sends as it yields (reason [`Reason::HigherPriorityAdvert`] or
    /// [`Reason::EqualPriorityHigherAddress`]), reported before the transition.
    AdvertForced { reason: Reason, from: IpAddr },
    /// A master heard a lower priority (or its own from a lower address) and, with
    /// [`lower_prio_no_advert`](crate::RouterConfigBuilder::lower_prio_no_advert), did not
    /// answer. Reported all the same: the caller's own reactions to a lower-priority master
    /// (keepalived's `notify_master_rx_lower_pri`, `garp_lower_prio_repeat`) do not depend on
    /// the advert.
    LowerPriorityUnanswered { from: IpAddr },
    /// The effective priority changed (tracker weights).
    PriorityChanged { from: u8, to: u8 },
    /// A received packet was dropped.
    Dropped(DropReason),
    /// An advert could not be written (buffer too small); the caller's buffer is the problem.
    TransmitFailed(WireError),
}

/// An advert written by [`poll_transmit`](crate::VirtualRouter::poll_transmit): send the first
/// `len` bytes of the buffer as the payload of an IP packet with protocol 112, TTL/hop limit 255.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Transmit {
    /// Our primary address (the v3 checksum covers it, so the IP source must be exactly this).
    pub src: IpAddr,
    /// The multicast group or one unicast peer.
    pub dst: IpAddr,
    pub len: usize,
}

/// Counters since the router was created.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Stats {
    /// Valid adverts processed.
    pub adverts_rx: u64,
    /// Adverts written by `poll_transmit` (one per destination).
    pub adverts_tx: u64,
    pub priority_zero_rx: u64,
    pub priority_zero_tx: u64,
    /// Packets dropped (each also reported as [`Event::Dropped`]).
    pub dropped: u64,
    /// Packets received while in INIT or FAULT, ignored.
    pub ignored: u64,
    pub became_master: u64,
    pub released_master: u64,
}
