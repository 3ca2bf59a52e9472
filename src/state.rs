//! One immutable snapshot of everything a request needs, behind one ArcSwap.

use crate::config::Config;
use crate::proxy::client::{self, UpstreamClient};
use crate::route::Router;
use crate::upstream::Upstream;

/// Routes, pools and their clients, built together from one config.
pub struct Snapshot {
    pub router: Router,
    /// Indexed like `Config::upstreams`; routes refer to them by index.
    pub upstreams: Vec<Upstream>,
    /// One pooled client per upstream, same index.
    pub clients: Vec<UpstreamClient>,
}

impl Snapshot {
    /// Builds the runtime snapshot; needs a tokio runtime for the clients' timers.
    pub fn build(config: &Config) -> Self {
        let upstreams: Vec<Upstream> = config.upstreams.iter().map(Upstream::new).collect();
        let clients = upstreams.iter().map(client::build).collect();
        Self {
            router: Router::new(config.routes.clone()),
            upstreams,
            clients,
        }
    }
}
