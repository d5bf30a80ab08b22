//! Every operation of docs/openapi.yaml is served and answers with a documented status.

use hyper::Method;
use serde_json::Value;

use crate::fixtures;
use crate::harness::Harness;

#[tokio::test]
async fn every_documented_operation_answers_with_a_documented_status() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../docs/openapi.yaml");
    let text = std::fs::read_to_string(path).expect("docs/openapi.yaml is readable");
    let document: Value = serde_saphyr::from_str(&text).expect("docs/openapi.yaml is YAML");
    let service = Harness::started(fixtures::desired(), fixtures::live_drifted()).await;
    let mut checked = 0;
    for (template, operations) in document["paths"].as_object().expect("paths") {
        for (method, operation) in operations.as_object().expect("operations") {
            let path = template.replace("{resource_id}", "Deployment:shop:web");
            let method: Method = method.to_uppercase().parse().expect("an HTTP method");
            let answer = service.request(method.clone(), &path).await;
            let status = answer.status.as_u16().to_string();
            assert!(
                operation["responses"].get(&status).is_some(),
                "{method} {path} answered {status}, which the document does not list"
            );
            assert_eq!(
                answer.status.as_u16(),
                { if method == Method::POST { 202 } else { 200 } },
                "{method} {path}: {}",
                answer.text()
            );
            checked += 1;
        }
    }
    assert_eq!(checked, 14);
    service.stop().await.unwrap();
}
