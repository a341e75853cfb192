//! Who is on the other end of a request, as far as the gateway may know it: a building block below every
//! domain (sign-in throttling, security events and the consent ledger all record it, as keyed hashes).

/// Where a request came from (the address is only ever stored as a keyed hash).
#[derive(Debug, Clone, Default)]
pub struct ClientInfo {
    pub addr: Option<std::net::IpAddr>,
    pub user_agent: String,
}
