//! Keeps Secret values out of a renderer's error text: every value a
//! Secret of the inputs holds (`data` — as written and decoded —,
//! `stringData`, and `literals` of kustomize `secretGenerator`s) is
//! replaced by `***` in the tool's stderr before it becomes a message.

use serde_json::Value;

/// Values shorter than this are not masked (they would blank out ordinary
/// words of the message, and carry little secret).
const MIN_MASKED: usize = 3;

/// The Secret values found in the YAML texts `inputs`.
pub fn secret_values<'a>(inputs: impl IntoIterator<Item = &'a [u8]>) -> Vec<String> {
    let mut values = Vec::new();
    for bytes in inputs {
        let Ok(text) = std::str::from_utf8(bytes) else {
            continue;
        };
        let Ok(docs) = crate::yaml::parse_documents(text) else {
            continue;
        };
        for (_, doc) in docs {
            collect(&doc, &mut values);
        }
    }
    values.retain(|v| v.len() >= MIN_MASKED);
    // longest first, so a value containing another is masked whole
    values.sort_by_key(|v| std::cmp::Reverse(v.len()));
    values.dedup();
    values
}

fn collect(doc: &Value, out: &mut Vec<String>) {
    if doc.get("kind").and_then(Value::as_str) == Some("Secret") {
        for field in ["data", "stringData"] {
            let Some(Value::Object(map)) = doc.get(field) else {
                continue;
            };
            for value in map.values().filter_map(Value::as_str) {
                out.push(value.to_string());
                if field == "data" {
                    out.extend(decode_base64(value));
                }
            }
        }
    }
    if let Some(Value::Array(generators)) = doc.get("secretGenerator") {
        for generator in generators {
            let Some(Value::Array(literals)) = generator.get("literals") else {
                continue;
            };
            for literal in literals.iter().filter_map(Value::as_str) {
                if let Some((_, value)) = literal.split_once('=') {
                    out.push(value.to_string());
                }
            }
        }
    }
}

/// `text` with every value of `secrets` replaced by `***`.
pub fn mask(text: &str, secrets: &[String]) -> String {
    secrets.iter().fold(text.to_string(), |t, secret| {
        t.replace(secret.as_str(), "***")
    })
}

fn decode_base64(text: &str) -> Option<String> {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut bits = 0u32;
    let mut count = 0;
    let mut out = Vec::new();
    for c in text.trim().bytes().filter(|c| *c != b'=') {
        let v = ALPHABET.iter().position(|a| *a == c)? as u32;
        bits = (bits << 6) | v;
        count += 6;
        if count >= 8 {
            count -= 8;
            out.push((bits >> count) as u8);
            bits &= (1 << count) - 1;
        }
    }
    String::from_utf8(out).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secret_values_are_masked_in_stderr() {
        let secret = b"apiVersion: v1\nkind: Secret\nmetadata: {name: db}\n\
data: {password: aHVudGVyMg==}\nstringData: {token: s3cr3t-token}\n";
        let generator = b"secretGenerator:\n- name: api\n  literals: [key=generated-value]\n";
        let values = secret_values([&secret[..], &generator[..]]);
        let stderr = "error: hunter2 and s3cr3t-token and aHVudGVyMg== and generated-value";
        assert_eq!(mask(stderr, &values), "error: *** and *** and *** and ***");
    }
}
