//! Statement shapes for hand-built requests against the schema fixture (the golden tests cover the
//! whole pipeline from the query string; these pin the builder on its own).

use crate::api_request::*;
use crate::plan::{plan, ActionPlan};
use crate::query::read_statement;
use crate::schema_cache::SchemaCache;
use crate::settings::Settings;

fn cache() -> SchemaCache {
    let doc = include_bytes!("../../tests/fixtures/schema.json");
    SchemaCache::from_document(doc).expect("fixture loads")
}

fn request(name: &str, select: Vec<SelectItem>) -> ApiRequest {
    ApiRequest {
        method: Method::Get,
        resource: Resource::Relation(name.into()),
        schema: "test".into(),
        negotiated_by_profile: false,
        query: QueryParams {
            select,
            ..QueryParams::default()
        },
        preferences: Preferences::default(),
        range_header: None,
        accept: vec![],
        content_type: MediaType::Json,
        payload: None,
        path: format!("/{name}"),
    }
}

fn col(name: &str) -> SelectItem {
    SelectItem::Field {
        field: Field {
            name: name.into(),
            json_path: vec![],
        },
        aggregate: None,
        aggregate_cast: None,
        cast: None,
        alias: None,
    }
}

fn embed(relation: &str, children: Vec<SelectItem>, join_type: Option<JoinType>) -> SelectItem {
    SelectItem::Relation {
        relation: relation.into(),
        alias: None,
        hint: None,
        join_type,
        children,
    }
}

fn filter(name: &str, operation: Operation) -> Filter {
    Filter {
        field: Field {
            name: name.into(),
            json_path: vec![],
        },
        op: OpExpr {
            negated: false,
            operation,
        },
    }
}

fn statement(req: &ApiRequest) -> crate::query::Statement {
    let settings = Settings {
        db_schemas: vec!["test".into()],
        ..Settings::default()
    };
    match plan(&cache(), &settings, req).expect("plans") {
        ActionPlan::Read(read) => read_statement(&read),
        other => panic!("not a read: {other:?}"),
    }
}

#[test]
fn filters_are_parameters_in_where_order() {
    let mut req = request("projects", vec![]);
    req.query.filters = vec![
        (
            vec![],
            filter(
                "name",
                Operation::Quant(QuantOperator::Like, None, "*Win*".into()),
            ),
        ),
        (
            vec![],
            filter("id", Operation::In(vec!["1".into(), "2,3".into()])),
        ),
    ];
    req.query.ranges.insert(
        vec![],
        RowRange {
            offset: 1,
            limit: Some(2),
        },
    );
    let st = statement(&req);
    assert!(st.sql.contains(
        r#"WHERE "test"."projects"."name" LIKE $1 AND "test"."projects"."id" = ANY($2) LIMIT $3 OFFSET $4"#
    ));
    let params: Vec<Option<Vec<u8>>> = vec![
        Some(b"%Win%".to_vec()),
        Some(br#"{"1","2,3"}"#.to_vec()),
        Some(b"2".to_vec()),
        Some(b"1".to_vec()),
    ];
    assert_eq!(st.params, params);
}

#[test]
fn planned_count_takes_the_same_parameters() {
    let mut req = request("projects", vec![]);
    req.query.filters = vec![(
        vec![],
        filter("id", Operation::Quant(QuantOperator::Equal, None, "1".into())),
    )];
    req.query.ranges.insert(
        vec![],
        RowRange {
            offset: 0,
            limit: Some(5),
        },
    );
    req.preferences.count = Some(PreferCount::Planned);
    let st = statement(&req);
    assert_eq!(
        st.count_sql.as_deref(),
        Some(
            r#"EXPLAIN (FORMAT JSON) SELECT 1, $2::text, $3::text FROM "test"."projects" WHERE "test"."projects"."id" = $1"#
        )
    );
    assert!(st.sql.contains("null::bigint AS total_result_set"));
}

#[test]
fn embeds_are_lateral_joins() {
    let req = request(
        "clients",
        vec![
            col("id"),
            embed(
                "projects",
                vec![col("name"), embed("tasks", vec![col("id")], None)],
                Some(JoinType::Inner),
            ),
        ],
    );
    let st = statement(&req);
    assert!(st.sql.contains(
        r#"INNER JOIN LATERAL ( SELECT json_agg("pgrst_1_r") AS "body" FROM ( SELECT "pgrst_1"."name""#
    ));
    assert!(st
        .sql
        .contains(r#"WHERE "pgrst_2"."project_id" = "pgrst_1"."id""#));
    assert!(st.sql.contains(r#"ON "pgrst_1_j"."body" IS NOT NULL"#));
    assert!(st
        .sql
        .contains(r#"coalesce("pgrst_1_j"."body", '[]') AS "projects""#));
}

#[test]
fn many_to_many_goes_through_the_junction() {
    let req = request(
        "users",
        vec![col("name"), embed("tasks", vec![col("name")], None)],
    );
    let st = statement(&req);
    assert!(st.sql.contains(
        r#"INNER JOIN "test"."users_tasks" AS "pgrst_1_jt" ON "pgrst_1"."id" = "pgrst_1_jt"."task_id""#
    ));
    assert!(st
        .sql
        .contains(r#"WHERE "pgrst_1_jt"."user_id" = "test"."users"."id""#));
}

#[test]
fn unknown_table_is_404_with_hint() {
    let settings = Settings {
        db_schemas: vec!["test".into()],
        ..Settings::default()
    };
    let err = plan(&cache(), &settings, &request("projectz", vec![])).unwrap_err();
    assert_eq!((err.status, err.code), (404, "PGRST205"));
    assert_eq!(
        err.message,
        "Could not find the table 'test.projectz' in the schema cache"
    );
    assert_eq!(
        err.hint,
        serde_json::json!("Perhaps you meant the table 'test.projects'")
    );
}
