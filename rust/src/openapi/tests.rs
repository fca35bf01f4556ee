//! The documents built from the schema cache fixture (`rust/tests/fixtures/schema.json`).

use serde_json::Value;

use super::*;

const FIXTURE: &[u8] = include_bytes!("../../tests/fixtures/schema.json");

fn build(accessible: &str, mode: Mode, version: Version) -> Value {
    let cache = SchemaCache::from_document(FIXTURE).expect("fixture loads");
    let accessible = Accessible::parse(accessible.as_bytes()).expect("valid");
    let opts = Options {
        schema: "test",
        mode,
        version,
        server: server_url(None, "!4", 3000, ""),
        security_active: false,
    };
    serde_json::from_str(&document(&cache, &accessible, &opts)).expect("valid JSON")
}

const SOME: &str = r#"{"description": "My API\n\nAll of it", "tables": ["clients", "projects"], "routines": ["add_them", "reset_tasks"]}"#;

#[test]
fn swagger_follows_privileges() {
    let doc = build(SOME, Mode::FollowPrivileges, Version::Swagger2);
    assert_eq!(doc["swagger"], "2.0");
    assert_eq!(doc["info"]["title"], "My API");
    assert_eq!(doc["info"]["description"], "All of it");
    assert_eq!(doc["host"], "0.0.0.0:3000");
    assert_eq!(doc["basePath"], "/");
    let paths: Vec<&String> = doc["paths"].as_object().unwrap().keys().collect();
    assert_eq!(
        paths,
        ["/", "/clients", "/projects", "/rpc/add_them", "/rpc/reset_tasks"]
    );
    let defs: Vec<&String> = doc["definitions"].as_object().unwrap().keys().collect();
    assert_eq!(defs, ["clients", "projects"]);
}

#[test]
fn swagger_ignoring_privileges_lists_everything() {
    let doc = build(
        r#"{"description": null, "tables": [], "routines": []}"#,
        Mode::IgnorePrivileges,
        Version::Swagger2,
    );
    assert_eq!(doc["info"]["title"], "PostgREST API");
    assert_eq!(doc["definitions"].as_object().unwrap().len(), 13);
    assert!(doc["paths"]["/rpc/hello"]["get"].is_object());
}

#[test]
fn swagger_tables_and_columns() {
    let doc = build(SOME, Mode::FollowPrivileges, Version::Swagger2);
    let projects = &doc["definitions"]["projects"];
    assert_eq!(projects["required"], serde_json::json!(["id", "name"]));
    let id = &projects["properties"]["id"];
    assert_eq!(id["type"], "integer");
    assert_eq!(id["format"], "integer");
    assert_eq!(id["description"], "Note:\nThis is a Primary Key.<pk/>");
    assert!(id.get("default").is_none(), "nextval() is no constant");
    assert_eq!(projects["properties"]["name"]["maxLength"], 100);
    assert_eq!(
        projects["properties"]["client_id"]["description"],
        "Note:\nThis is a Foreign Key to `clients.id`.<fk table='clients' column='id'/>"
    );
    let clients = &doc["paths"]["/clients"];
    assert_eq!(clients["get"]["summary"], "Who pays");
    assert_eq!(clients["get"]["tags"], serde_json::json!(["clients"]));
    assert_eq!(clients["post"]["responses"]["201"]["description"], "Created");
    let params = clients["get"]["parameters"].as_array().unwrap();
    assert_eq!(params[0]["$ref"], "#/parameters/rowFilter.clients.id");
    assert_eq!(
        doc["parameters"]["rowFilter.clients.name"]["description"],
        "Legal name"
    );
}

#[test]
fn swagger_functions() {
    let doc = build(SOME, Mode::FollowPrivileges, Version::Swagger2);
    let volatile = &doc["paths"]["/rpc/reset_tasks"];
    assert!(volatile.get("get").is_none() && volatile["post"].is_object());
    let add = &doc["paths"]["/rpc/add_them"];
    assert_eq!(add["get"]["parameters"][0]["in"], "query");
    assert_eq!(add["post"]["parameters"][0]["in"], "body");
    assert_eq!(add["post"]["tags"], serde_json::json!(["(rpc) add_them"]));
}

#[test]
fn openapi_31() {
    let doc = build(SOME, Mode::FollowPrivileges, Version::OpenApi31);
    assert_eq!(doc["openapi"], "3.1.0");
    assert_eq!(doc["servers"][0]["url"], "http://0.0.0.0:3000");
    let client_id = &doc["components"]["schemas"]["projects"]["properties"]["client_id"];
    assert_eq!(client_id["type"], serde_json::json!(["integer", "null"]));
    let get = &doc["paths"]["/clients"]["get"];
    assert_eq!(
        get["parameters"][0]["$ref"],
        "#/components/parameters/rowFilter.clients.id"
    );
    assert_eq!(
        get["responses"]["200"]["content"]["application/json"]["schema"]["items"]["$ref"],
        "#/components/schemas/clients"
    );
    assert_eq!(
        doc["paths"]["/clients"]["post"]["requestBody"]["$ref"],
        "#/components/requestBodies/clients"
    );
}

#[test]
fn root_media() {
    assert!(negotiate_root(&[]).is_ok());
    assert!(negotiate_root(&[MediaType::Csv, MediaType::OpenApi]).is_ok());
    let err = negotiate_root(&[MediaType::Csv]).unwrap_err();
    assert_eq!((err.status, err.code), (406, "PGRST107"));
    assert_eq!(Mode::parse("disabled").unwrap_err().code, "PGRST126");
}

#[test]
fn component_keys_are_one_to_one() {
    assert_eq!(v3::key("plain_name1"), "plain_name1");
    assert_eq!(v3::key("été"), "-C3-A9t-C3-A9");
    assert_eq!(v3::key("a.b-c d"), "a-2Eb-2Dc-20d");
    assert_ne!(v3::key("a b"), v3::key("a-20b"));
}
