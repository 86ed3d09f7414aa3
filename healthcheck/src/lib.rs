//! Non-blocking real-server health checkers with keepalived's semantics.
