//! Puts line numbers on the problems of a load, in one place after they
//! are all collected, from the file texts of the snapshot (validators only
//! know files, documents and field paths).

use crate::model::ModelErrors;
use crate::yaml::locate::Lines;
use std::collections::BTreeMap;

/// Sets `line` on each error that names a field, when the field (or its
/// nearest existing ancestor) is found in the file's text.
/// Each file is parsed once, however many errors it has.
pub fn fill(errors: &mut ModelErrors, files: &BTreeMap<String, Vec<u8>>) {
    let mut parsed: BTreeMap<String, Lines> = BTreeMap::new();
    for e in &mut errors.0 {
        let Some(field) = &e.field else { continue };
        if !parsed.contains_key(&e.file) {
            let Some(text) = files.get(&e.file).and_then(|b| std::str::from_utf8(b).ok()) else {
                continue;
            };
            parsed.insert(e.file.clone(), Lines::of(text));
        }
        e.line = parsed
            .get(&e.file)
            .and_then(|lines| lines.line_of(e.doc.unwrap_or(0), field));
    }
}

#[cfg(test)]
mod tests {
    use super::fill;
    use crate::model::{ModelError, ModelErrors};
    use std::collections::BTreeMap;

    #[test]
    fn fields_get_their_line_and_the_rest_stays_as_it_was() {
        let files = BTreeMap::from([
            (
                "p.yaml".to_string(),
                b"kind: Placement\nspec:\n  weight: -1\n".to_vec(),
            ),
            (
                "m.yaml".to_string(),
                b"kind: A\n---\nkind: B\nspec: {}\n".to_vec(),
            ),
            ("bin.yaml".to_string(), vec![0xff, 0xfe]),
        ]);
        let mut errors = ModelErrors(vec![
            ModelError::field("p.yaml", "spec.weight", "must be ≥ 0"),
            ModelError::doc("m.yaml", 1, Some("spec.replicas"), "missing"),
            ModelError::file("p.yaml", "whole file"),
            ModelError::field("bin.yaml", "spec", "x"),
            ModelError::field("gone.yaml", "spec", "x"),
        ]);
        fill(&mut errors, &files);
        let lines: Vec<_> = errors.0.iter().map(|e| e.line).collect();
        assert_eq!(lines, [Some(3), Some(4), None, None, None]);
        assert_eq!(
            errors.0[0].to_string(),
            "p.yaml: spec.weight: must be ≥ 0 (line 3)"
        );
    }
}
