//! The OpenAPI 3.1 document of the gateway: the file beside the code
//! (`openapi.json`), whose `/v1/gaussian_filter` entry is the template of
//! every operation's (`ops::ALL`: each gets `/v1/<name>` with its own
//! summary and its parameters from its table), served at
//! `GET /openapi.json`. A test compares its paths and methods with the
//! router's route list ([`super::routes`]) and each operation's parameters
//! with its table, so they cannot drift.

use std::sync::OnceLock;

use serde_json::{Value, json};

use crate::ops::{Operation, ParamSpec};

/// The hand-written document, with the operations' template.
const WRITTEN: &str = include_str!("openapi.json");

/// The path whose entry every operation's copies.
const TEMPLATE: &str = "/v1/gaussian_filter";

/// The document, as served: the written file, its template entry replaced
/// by every operation's. Spliced as text, so the rest keeps the written
/// order of its keys (Swagger UI offers a body's first media type first).
pub(crate) fn document() -> &'static str {
    static DOCUMENT: OnceLock<String> = OnceLock::new();
    DOCUMENT.get_or_init(|| {
        let doc: Value = serde_json::from_str(WRITTEN).expect("openapi.json is valid JSON");
        let template = &doc["paths"][TEMPLATE]["post"];
        let entries: Vec<String> = crate::ops::ALL
            .iter()
            .map(|op| {
                let item = json!({ "post": entry(template, op) });
                format!(
                    "{}: {}",
                    serde_json::to_string(&format!("/v1/{}", op.name)).expect("a string prints"),
                    serde_json::to_string_pretty(&item).expect("a JSON value prints")
                )
            })
            .collect();
        let span = value_span(WRITTEN, &format!("\"{TEMPLATE}\":"))
            .expect("openapi.json has the template entry");
        format!(
            "{}{}{}",
            &WRITTEN[..span.start],
            entries.join(",\n"),
            &WRITTEN[span.end..]
        )
    })
}

/// Where `key` and its object value lie in `text` (the first occurrence),
/// braces inside strings skipped.
fn value_span(text: &str, key: &str) -> Option<std::ops::Range<usize>> {
    let start = text.find(key)?;
    let open = start + text[start..].find('{')?;
    let (mut depth, mut in_string, mut escaped) = (0usize, false, false);
    for (i, c) in text[open..].char_indices() {
        match c {
            _ if escaped => escaped = false,
            '\\' if in_string => escaped = true,
            '"' => in_string = !in_string,
            '{' if !in_string => depth += 1,
            '}' if !in_string => {
                depth -= 1;
                if depth == 0 {
                    return Some(start..open + i + 1);
                }
            }
            _ => {}
        }
    }
    None
}

/// `op`'s entry: the template's bodies and answers, its own summary,
/// operation id and parameters.
fn entry(template: &Value, op: &Operation) -> Value {
    let mut entry = template.clone();
    if op.name != "gaussian_filter" {
        entry["summary"] = json!(op.summary);
        entry["description"] = json!(format!(
            "{} Bodies and answers as for /v1/gaussian_filter; the parameters are scipy's.",
            op.summary
        ));
        entry["operationId"] = json!(camel_case(op.name));
    }
    let written = template["parameters"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    // The operation's own, then the stored input's (`input`, `keep`), as
    // written for every operation.
    let stored = written
        .iter()
        .filter(|p| STORED_INPUT.iter().any(|name| p["name"] == *name));
    entry["parameters"] = op
        .params
        .iter()
        .map(|spec| parameter(spec, &written))
        .chain(stored.cloned())
        .collect();
    entry
}

/// The query parameters every operation takes to read a stored tensor and
/// keep its result (`native::apply`).
const STORED_INPUT: [&str; 2] = ["input", "keep"];

/// One query parameter: the template's schema for a parameter of that name
/// (its items for one that takes a single value here), the table's words.
fn parameter(spec: &ParamSpec, written: &[Value]) -> Value {
    let name = spec.param.name();
    let schema = match written.iter().find(|p| p["name"] == name) {
        Some(p) if !spec.list && p["schema"]["type"] == "array" => p["schema"]["items"].clone(),
        Some(p) => p["schema"].clone(),
        None => json!({ "type": "integer" }),
    };
    let mut description = spec.doc.to_owned();
    if !spec.default.is_empty() {
        description.push_str(&format!(" (default {})", spec.default));
    }
    let mut parameter = json!({
        "name": name,
        "in": "query",
        "description": description,
        "schema": schema,
    });
    if name == "sigma" {
        parameter["required"] = json!(true);
    }
    if spec.list {
        parameter["style"] = json!("form");
        parameter["explode"] = json!(false);
    }
    parameter
}

/// `gaussian_filter1d` → `gaussianFilter1d`.
fn camel_case(name: &str) -> String {
    let mut out = String::new();
    let mut upper = false;
    for c in name.chars() {
        if c == '_' {
            upper = true;
        } else if upper {
            out.extend(c.to_uppercase());
            upper = false;
        } else {
            out.push(c);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    fn document() -> serde_json::Value {
        serde_json::from_str(super::document()).expect("the document is valid JSON")
    }

    #[test]
    fn document_is_openapi_3_1() {
        let doc = document();
        assert_eq!(doc["openapi"], "3.1.0");
        assert!(doc["info"]["title"].is_string());
    }

    #[test]
    fn document_lists_exactly_the_routes_served() {
        let doc = document();
        let documented: BTreeSet<(String, String)> = doc["paths"]
            .as_object()
            .unwrap()
            .iter()
            .flat_map(|(path, item)| {
                item.as_object()
                    .unwrap()
                    .keys()
                    .map(move |method| (path.clone(), method.clone()))
            })
            .collect();
        let served: BTreeSet<(String, String)> = crate::gateway::routes()
            .into_iter()
            .map(|(path, method, _)| (path.to_owned(), method.to_owned()))
            .collect();
        assert_eq!(documented, served);
    }

    #[test]
    fn document_lists_every_parameter_of_every_operation() {
        let doc = document();
        for op in crate::ops::ALL {
            let documented: Vec<String> =
                doc["paths"][format!("/v1/{}", op.name)]["post"]["parameters"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|p| p["name"].as_str().unwrap().to_owned())
                    .collect();
            let mut expected = op.param_names(true);
            expected.extend(super::STORED_INPUT);
            assert_eq!(documented, expected, "{}", op.name);
        }
        assert_eq!(
            doc["paths"]["/v1/gaussian_filter1d"]["post"]["operationId"],
            "gaussianFilter1d"
        );
    }

    /// Swagger UI offers a body's first media type: the document keeps the
    /// written order (the seed's `/im_size` offers the file upload first).
    #[test]
    fn the_written_order_of_media_types_is_kept() {
        let served = super::document();
        let multipart = served.find("\"multipart/form-data\"").unwrap();
        let urlencoded = served
            .find("\"application/x-www-form-urlencoded\"")
            .unwrap();
        assert!(multipart < urlencoded);
        assert!(served.find("\"/im_size\"").unwrap() < served.find("\"/v1/describe\"").unwrap());
    }

    #[test]
    fn every_reference_resolves() {
        let doc = document();
        let mut refs = Vec::new();
        collect_refs(&doc, &mut refs);
        assert!(!refs.is_empty());
        for r in refs {
            let pointer = r.trim_start_matches('#');
            assert!(doc.pointer(pointer).is_some(), "dangling $ref {r}");
        }
    }

    /// Body media types for which `/docs` (Swagger UI, `pages/docs.js`'s
    /// `fileUploadMediaTypes`) shows a file picker.
    const FILE_MEDIA_TYPES: [&str; 3] = ["application/octet-stream", "application/x-npy", "image/"];

    #[test]
    fn the_docs_page_picks_files_for_the_binary_media_types() {
        let script = include_str!("pages/docs.js");
        for media in FILE_MEDIA_TYPES {
            assert!(script.contains(&format!("\"{media}\"")), "{media}");
        }
    }

    /// "Try it out" on `/docs` can send every documented body: a binary
    /// body is a file (by its media type or `contentMediaType`), the others
    /// are JSON or forms with an object schema; every POST has a body.
    #[test]
    fn every_request_body_can_be_sent_from_the_docs_page() {
        let doc = document();
        for (path, item) in doc["paths"].as_object().unwrap() {
            for (method, operation) in item.as_object().unwrap() {
                let body = &operation["requestBody"];
                if method == "post" {
                    assert!(body.is_object(), "POST {path} documents no request body");
                }
                let Some(content) = body["content"].as_object() else {
                    continue;
                };
                assert!(!content.is_empty(), "{method} {path}: empty content");
                for (media, entry) in content {
                    let schema = &entry["schema"];
                    let file = FILE_MEDIA_TYPES.iter().any(|f| media.starts_with(f))
                        || schema["contentMediaType"].is_string();
                    let structured = matches!(
                        media.as_str(),
                        "application/json"
                            | "multipart/form-data"
                            | "application/x-www-form-urlencoded"
                    ) && (schema["type"] == "object"
                        || schema["$ref"].is_string());
                    assert!(
                        file || structured,
                        "{method} {path}: the docs page cannot send a {media} body as documented"
                    );
                }
            }
        }
    }

    /// "Try it out" calls the origin that served the page (the pages'
    /// policy allows no other), so the servers are relative URLs.
    #[test]
    fn servers_are_relative_to_the_document() {
        let doc = document();
        let servers = doc["servers"].as_array().unwrap();
        assert!(!servers.is_empty());
        for server in servers {
            let url = server["url"].as_str().unwrap();
            assert!(url.starts_with('/'), "server {url} is not relative");
        }
    }

    fn collect_refs(value: &serde_json::Value, out: &mut Vec<String>) {
        match value {
            serde_json::Value::Object(map) => {
                for (k, v) in map {
                    if k == "$ref" {
                        out.extend(v.as_str().map(str::to_owned));
                    } else {
                        collect_refs(v, out);
                    }
                }
            }
            serde_json::Value::Array(items) => items.iter().for_each(|v| collect_refs(v, out)),
            _ => {}
        }
    }
}
