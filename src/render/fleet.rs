//! Renders a whole fleet, or one cluster.
use super::{ClusterRendering, RenderError, Rendering};
use crate::model::Fleet;

/// Renders every cluster of the fleet.
pub fn render(_fleet: &Fleet) -> Result<Rendering, Vec<RenderError>> {
    unimplemented!()
}

/// Renders one cluster.
pub fn render_cluster(_fleet: &Fleet, _cluster: &str) -> Result<ClusterRendering, Vec<RenderError>> {
    unimplemented!()
}
