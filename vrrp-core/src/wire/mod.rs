//! VRRP advertisement wire format (owned by the codec work).
