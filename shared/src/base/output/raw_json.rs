//! Printing JSON as it came from a server, indented as `serde_json::to_string_pretty`
//! would print it, without building a value per object first: a listing of thousands of
//! items is text in, text out.

/// An item kept as text, read as a value where a field is needed after all.
pub fn value(raw: &serde_json::value::RawValue) -> serde_json::Value {
    serde_json::from_str(raw.get()).unwrap_or(serde_json::Value::Null)
}

/// `raw` (valid JSON, as a `RawValue` holds it) in serde_json's pretty layout, every line
/// after the first starting with `margin`. Key order and the text of strings and numbers
/// are kept as they came.
pub fn pretty(raw: &str, margin: &str) -> String {
    let bytes = raw.as_bytes();
    let mut out = String::with_capacity(raw.len() * 2);
    let mut depth = 0usize;
    let mut i = 0;
    let newline = |out: &mut String, depth: usize| {
        out.push('\n');
        out.push_str(margin);
        for _ in 0..depth {
            out.push_str("  ");
        }
    };
    while i < bytes.len() {
        let b = bytes[i];
        match b {
            b'"' => {
                let start = i;
                i += 1;
                while i < bytes.len() && bytes[i] != b'"' {
                    i += if bytes[i] == b'\\' { 2 } else { 1 };
                }
                out.push_str(&raw[start..=i.min(bytes.len() - 1)]);
            }
            b'{' | b'[' => {
                let close = if b == b'{' { b'}' } else { b']' };
                let mut j = i + 1;
                while j < bytes.len() && bytes[j].is_ascii_whitespace() {
                    j += 1;
                }
                if bytes.get(j) == Some(&close) {
                    out.push(b as char);
                    out.push(close as char);
                    i = j;
                } else {
                    out.push(b as char);
                    depth += 1;
                    newline(&mut out, depth);
                }
            }
            b'}' | b']' => {
                depth = depth.saturating_sub(1);
                newline(&mut out, depth);
                out.push(b as char);
            }
            b',' => {
                out.push(',');
                newline(&mut out, depth);
            }
            b':' => out.push_str(": "),
            b' ' | b'\n' | b'\r' | b'\t' => {}
            _ => {
                let start = i;
                while i + 1 < bytes.len()
                    && !matches!(
                        bytes[i + 1],
                        b',' | b'}' | b']' | b' ' | b'\n' | b'\r' | b'\t'
                    )
                {
                    i += 1;
                }
                out.push_str(&raw[start..=i]);
            }
        }
        i += 1;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::Value;

    fn same_as_serde(text: &str) {
        let value: Value = serde_json::from_str(text).unwrap();
        let want = serde_json::to_string_pretty(&value).unwrap();
        assert_eq!(pretty(text, ""), want, "{text}");
        let compact = serde_json::to_string(&value).unwrap();
        assert_eq!(pretty(&compact, ""), want, "{compact}");
        assert_eq!(pretty(&compact, "    "), want.replace('\n', "\n    "));
    }

    #[test]
    fn the_layout_is_serde_jsons_pretty_one() {
        same_as_serde(
            r#"{"id":"t-1","gpuSpecification":{"gpu":"A10G","n":2},"tags":[],"meta":{},"list":[1,true,null,{"a":[]}]}"#,
        );
        same_as_serde(r#"{ "spaced" : [ 1 , 2 ] , "nested" : { "deep" : { } } }"#);
        same_as_serde(r#"{"text":"commas, colons: and {braces} [brackets] \"quoted\" \\ back"}"#);
        same_as_serde("[]");
        same_as_serde(r#""alone""#);
        same_as_serde("-12.5");
    }

    #[test]
    fn strings_keep_their_text() {
        assert_eq!(
            pretty(r#"{"k":"\u00e9"}"#, ""),
            "{\n  \"k\": \"\\u00e9\"\n}"
        );
    }
}
