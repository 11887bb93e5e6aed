//! Why each app using `dynamicWeight` got its replicas per cluster, for
//! `plan` and `apply`: the inputs read from the clusters once per command
//! (the rendering and explanation lines are in
//! [`crate::revision::inputs`], shared with the daemon).

use crate::cluster::capacity::read_capacities;
use crate::plan::compute::Connections;
use crate::render::capacity::app::RenderInputs;
use crate::revision::inputs::{explain, inputs_change};
use crate::revision::{Revision, RevisionError};

/// Renders `rev` again with `inputs` when they change it (the same rule
/// as the daemon's, [`inputs_change`]) and returns the explanation
/// lines: migrations, failovers, weights by free capacity (empty when no
/// app has any).
pub fn rerender_explained(
    rev: &mut Revision,
    inputs: &RenderInputs,
) -> Result<String, RevisionError> {
    let notes = if inputs_change(inputs, rev) {
        rev.rerender_with(inputs)?
    } else {
        Default::default()
    };
    Ok(explain(rev, &notes, &inputs.failed))
}

/// The inputs for `rev`'s dynamic weights (no capacity read when no app
/// uses them).
pub async fn inputs_for(rev: &Revision, connections: &Connections) -> RenderInputs {
    RenderInputs {
        capacities: if rev.uses_dynamic_weights() {
            Some(read_capacities(connections).await)
        } else {
            None
        },
        ..RenderInputs::default()
    }
}
