//! (temporary until the render branch lands)
/// Apply rank of a kind.
pub fn apply_rank(kind: &str) -> usize {
    match kind { "Namespace" => 0, "CustomResourceDefinition" => 1, _ => 10 }
}
