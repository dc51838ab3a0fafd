//! The OpenAPI 3.1 document of the gateway, kept as a file beside the code
//! (`openapi.json`) and served at `GET /openapi.json`. A test compares its
//! paths and methods with the router's route list ([`super::routes`]) and its
//! filter parameters with the ones the handler reads, so the two cannot drift.

/// The document, as served.
pub(crate) const DOCUMENT: &str = include_str!("openapi.json");

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use super::DOCUMENT;

    fn document() -> serde_json::Value {
        serde_json::from_str(DOCUMENT).expect("openapi.json is valid JSON")
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
    fn document_lists_every_filter_parameter() {
        let doc = document();
        let documented: BTreeSet<String> =
            doc["paths"]["/v1/gaussian_filter"]["post"]["parameters"]
                .as_array()
                .unwrap()
                .iter()
                .map(|p| p["name"].as_str().unwrap().to_owned())
                .collect();
        let read: BTreeSet<String> = crate::gateway::native::filter_parameters()
            .into_iter()
            .map(|s| (*s).to_owned())
            .collect();
        assert_eq!(documented, read);
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
