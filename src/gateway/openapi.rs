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
        let read: BTreeSet<String> = crate::gateway::native::FILTER_PARAMETERS
            .iter()
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
