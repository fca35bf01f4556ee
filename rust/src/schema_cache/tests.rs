//! Inference on the fixture document (`rust/tests/fixtures/schema.json`, see docs/schema-cache.md).

use std::sync::OnceLock;

use super::*;

const FIXTURE: &[u8] = include_bytes!("../../tests/fixtures/schema.json");

fn cache() -> &'static SchemaCache {
    static CACHE: OnceLock<SchemaCache> = OnceLock::new();
    CACHE.get_or_init(|| SchemaCache::from_document(FIXTURE).expect("fixture loads"))
}

fn qi(name: &str) -> QualifiedIdentifier {
    QualifiedIdentifier::new("test", name)
}

fn pairs(p: &[(&str, &str)]) -> Vec<ColumnPair> {
    p.iter().map(|(a, b)| (a.to_string(), b.to_string())).collect()
}

/// The cardinalities of the foreign key relationships from `table` to `foreign`.
fn rels_to<'a>(table: &str, foreign: &str) -> Vec<&'a Cardinality> {
    cache()
        .relationships(&qi(table))
        .iter()
        .filter_map(|r| match r {
            Relationship::ForeignKey {
                foreign_table,
                cardinality,
                ..
            } if *foreign_table == qi(foreign) => Some(cardinality),
            _ => None,
        })
        .collect()
}

#[test]
fn tables_and_columns() {
    let c = cache();
    assert_eq!(c.table_count(), 13);
    let clients = c.table(&qi("clients")).unwrap();
    assert_eq!(clients.pk_cols, ["id"]);
    assert!(!clients.is_view && clients.insertable && clients.updatable && clients.deletable);
    assert_eq!(clients.description.as_deref(), Some("Who pays"));
    let name = clients.column("name").unwrap();
    assert_eq!((name.data_type.as_str(), name.nullable), ("text", false));
    assert_eq!(name.description.as_deref(), Some("Legal name"));
    let id = clients.column("id").unwrap();
    assert_eq!(
        id.default.as_deref(),
        Some("nextval('test.clients_id_seq'::regclass)")
    );

    let projects = c.table(&qi("projects")).unwrap();
    let pname = projects.column("name").unwrap();
    assert_eq!(
        (
            pname.data_type.as_str(),
            pname.nominal_type.as_str(),
            pname.max_len
        ),
        ("character varying", "varchar", Some(100))
    );
    let users = c.table(&qi("users")).unwrap();
    let mood = users.column("mood").unwrap();
    assert_eq!(mood.enum_values, ["sad", "ok", "happy"]);
    assert_eq!(mood.nominal_type, "test.mood");
    assert!(users.column("name_upper").unwrap().generated);
    let names: Vec<&str> = users.columns.iter().map(|c| c.name.as_str()).collect();
    assert_eq!(names, ["id", "name", "mood", "name_upper"]);
    assert!(c
        .table(&QualifiedIdentifier::new("private", "invoices"))
        .is_none());
    let sorted: Vec<String> = c.tables().map(|t| t.name.clone()).collect();
    let mut expected = sorted.clone();
    expected.sort();
    assert_eq!(sorted, expected);
}

#[test]
fn view_primary_keys_and_flags() {
    let c = cache();
    let pv = c.table(&qi("projects_view")).unwrap();
    assert!(pv.is_view && pv.insertable && pv.updatable && pv.deletable);
    assert_eq!(pv.pk_cols, ["id"]);
    assert_eq!(c.table(&qi("projects_view_alt")).unwrap().pk_cols, ["project_id"]);
    assert_eq!(c.table(&qi("invoices")).unwrap().pk_cols, ["id"]);
    assert_eq!(c.table(&qi("project_names")).unwrap().pk_cols, ["id"]);
    let stats = c.table(&qi("client_stats")).unwrap();
    assert!(!stats.insertable && !stats.updatable && !stats.deletable);
    // `c.id as client_id ... group by c.id` is a plain reference to clients' key.
    assert_eq!(stats.pk_cols, ["client_id"]);
    assert!(!c.table(&qi("project_names")).unwrap().insertable);
}

#[test]
fn many_to_one_and_one_to_many() {
    assert_eq!(
        rels_to("projects", "clients"),
        [&Cardinality::M2O {
            constraint: "projects_client_id_fkey".into(),
            columns: pairs(&[("client_id", "id")])
        }]
    );
    assert_eq!(
        rels_to("clients", "projects"),
        [&Cardinality::O2M {
            constraint: "projects_client_id_fkey".into(),
            columns: pairs(&[("id", "client_id")])
        }]
    );
}

#[test]
fn two_foreign_keys_between_the_same_tables() {
    let constraints: Vec<&str> = rels_to("messages", "users")
        .into_iter()
        .map(|c| match c {
            Cardinality::M2O { constraint, .. } => constraint.as_str(),
            other => panic!("unexpected {other:?}"),
        })
        .collect();
    assert_eq!(constraints, ["messages_recipient_fkey", "messages_sender_fkey"]);
    assert_eq!(rels_to("users", "messages").len(), 2);
}

#[test]
fn self_reference() {
    let rels = cache().relationships(&qi("employees"));
    let kinds: Vec<(&str, bool)> = rels
        .iter()
        .map(|r| match r {
            Relationship::ForeignKey {
                cardinality: Cardinality::M2O { .. },
                is_self,
                ..
            } => ("m2o", *is_self),
            Relationship::ForeignKey {
                cardinality: Cardinality::O2M { .. },
                is_self,
                ..
            } => ("o2m", *is_self),
            other => panic!("unexpected {other:?}"),
        })
        .collect();
    assert_eq!(kinds, [("m2o", true), ("o2m", true)]);
}

#[test]
fn one_to_one() {
    assert_eq!(
        rels_to("profiles", "users"),
        [&Cardinality::O2O {
            constraint: "profiles_user_id_fkey".into(),
            columns: pairs(&[("user_id", "id")]),
            is_parent: false
        }]
    );
    assert_eq!(
        rels_to("users", "profiles"),
        [&Cardinality::O2O {
            constraint: "profiles_user_id_fkey".into(),
            columns: pairs(&[("id", "user_id")]),
            is_parent: true
        }]
    );
}

#[test]
fn many_to_many_through_a_junction_with_an_extra_column() {
    let expected = Junction {
        table: qi("users_tasks"),
        constraint_source: "users_tasks_user_id_fkey".into(),
        constraint_target: "users_tasks_task_id_fkey".into(),
        cols_source: pairs(&[("id", "user_id")]),
        cols_target: pairs(&[("id", "task_id")]),
    };
    assert_eq!(rels_to("users", "tasks"), [&Cardinality::M2M(expected)]);
    assert!(
        matches!(rels_to("tasks", "users")[..], [Cardinality::M2M(ref j)] if j.constraint_source == "users_tasks_task_id_fkey")
    );
    // Plain M2O/O2M through the junction are there too.
    assert_eq!(rels_to("users_tasks", "users").len(), 1);
    assert_eq!(rels_to("users", "users_tasks").len(), 1);
    // messages has two FKs to users but they are not in its PK: no M2M users ↔ users.
    assert!(rels_to("users", "users").is_empty());
}

#[test]
fn views_get_relationships_through_their_key_dependencies() {
    let m2o = Cardinality::M2O {
        constraint: "projects_client_id_fkey".into(),
        columns: pairs(&[("client_id", "id")]),
    };
    assert_eq!(rels_to("projects_view", "clients"), [&m2o]);
    assert_eq!(rels_to("projects_view_alt", "clients"), [&m2o]);
    assert_eq!(
        rels_to("tasks", "projects_view_alt"),
        [&Cardinality::M2O {
            constraint: "tasks_project_id_fkey".into(),
            columns: pairs(&[("project_id", "project_id")])
        }]
    );
    assert_eq!(
        rels_to("projects_view_alt", "tasks"),
        [&Cardinality::O2M {
            constraint: "tasks_project_id_fkey".into(),
            columns: pairs(&[("project_id", "project_id")])
        }]
    );
    // View over a table in a hidden schema.
    assert_eq!(
        rels_to("invoices", "clients"),
        [&Cardinality::M2O {
            constraint: "invoices_client_id_fkey".into(),
            columns: pairs(&[("client_id", "id")])
        }]
    );
    assert_eq!(rels_to("clients", "invoices").len(), 1);
    let rel = cache()
        .relationships(&qi("projects_view"))
        .iter()
        .find(|r| matches!(r, Relationship::ForeignKey { foreign_table, .. } if *foreign_table == qi("clients")))
        .unwrap();
    assert!(matches!(
        rel,
        Relationship::ForeignKey {
            table_is_view: true,
            foreign_table_is_view: false,
            is_self: false,
            ..
        }
    ));
    // A materialized view showing the referenced key: O2M to tasks.
    assert_eq!(rels_to("project_names", "tasks").len(), 1);
    // The aggregate view shows clients.id through a GROUP BY: still a plain reference.
    assert_eq!(rels_to("client_stats", "projects").len(), 1);
}

#[test]
fn computed_relationships() {
    let computed: Vec<(String, String, bool)> = cache()
        .tables()
        .flat_map(|t| cache().relationships(&t.qi()))
        .filter_map(|r| match r {
            Relationship::Computed {
                function,
                table,
                foreign_table,
                single_row,
            } => {
                assert_eq!(function.schema, "test");
                Some((
                    format!("{}>{}", table.name, foreign_table.name),
                    function.name.clone(),
                    *single_row,
                ))
            }
            _ => None,
        })
        .collect();
    assert_eq!(
        computed,
        [
            (
                "clients>projects".to_string(),
                "client_projects".to_string(),
                false
            ),
            ("projects>clients".to_string(), "project_client".to_string(), true),
            ("tasks>projects".to_string(), "task_project".to_string(), true),
        ]
    );
}

#[test]
fn routines() {
    let c = cache();
    let add = &c.routines(&qi("add_them"))[0];
    assert_eq!(add.returns, ReturnType::Scalar("integer".into()));
    assert_eq!(add.volatility, Volatility::Immutable);
    assert_eq!(
        add.params.iter().map(|p| p.required).collect::<Vec<_>>(),
        [true, false]
    );
    assert_eq!(add.description.as_deref(), Some("Adds two numbers"));
    let hello = c.routines(&qi("hello"));
    assert_eq!(hello.iter().map(|r| r.params.len()).collect::<Vec<_>>(), [0, 1]);
    let gp = &c.routines(&qi("get_projects"))[0];
    assert!(gp.returns_set);
    assert_eq!(
        gp.returns,
        ReturnType::Composite {
            qi: qi("projects"),
            is_table: true
        }
    );
    let first = &c.routines(&qi("first_project"))[0];
    assert!(!first.returns_set && matches!(first.returns, ReturnType::Composite { is_table: true, .. }));
    let pairs_fn = &c.routines(&qi("project_pairs"))[0];
    assert_eq!(
        pairs_fn.returns,
        ReturnType::Composite {
            qi: QualifiedIdentifier::new("pg_catalog", "record"),
            is_table: false
        }
    );
    assert_eq!(
        c.routines(&qi("origin"))[0].returns,
        ReturnType::Composite {
            qi: qi("point2d"),
            is_table: false
        }
    );
    let reset = &c.routines(&qi("reset_tasks"))[0];
    assert!(reset.returns_void && reset.volatility == Volatility::Volatile);
    let sum = &c.routines(&qi("sum_all"))[0];
    assert!(sum.has_variadic && sum.params[0].variadic && sum.params[0].data_type == "integer[]");
    let configured = &c.routines(&qi("configured"))[0];
    assert_eq!(
        configured.settings,
        [
            ("search_path".to_string(), "test, public".to_string()),
            ("statement_timeout".to_string(), "5s".to_string())
        ]
    );
    // Unnamed row-type parameter: a computed relationship, not an RPC.
    assert!(c.routines(&qi("client_projects")).is_empty());
    assert_eq!(c.routine_count(), 10);
}

#[test]
fn suggestions() {
    let c = cache();
    assert_eq!(
        c.suggest_table("test", "projcts").map(|t| t.name.as_str()),
        Some("projects")
    );
    assert_eq!(c.suggest_table("test", "zzzz"), None);
    assert_eq!(c.suggest_table("other", "projects"), None);
    assert_eq!(
        c.suggest_routine("test", "helo").map(|r| r.name.as_str()),
        Some("hello")
    );
}

#[test]
fn dump_and_counts() {
    let c = cache();
    let dump: serde_json::Value = serde_json::from_str(&c.to_json()).unwrap();
    assert_eq!(dump["tables"].as_array().unwrap().len(), c.table_count());
    assert_eq!(
        dump["relationships"].as_array().unwrap().len(),
        c.relationship_count()
    );
    assert_eq!(dump["routines"].as_array().unwrap().len(), c.routine_count());
}

#[test]
fn malformed_documents_are_errors() {
    assert!(SchemaCache::from_document(b"").is_err());
    assert!(SchemaCache::from_document(b"{}").is_err());
    assert!(SchemaCache::from_document(
        br#"{"tables": [], "columns": null, "keys": {"constraints": null, "views": []},
            "routines": [], "descriptions": null}"#
    )
    .is_ok());
}

#[test]
fn the_parts_of_a_document_build_what_it_builds_whole() {
    let whole: serde_json::Map<String, serde_json::Value> = serde_json::from_slice(FIXTURE).unwrap();
    let parts: Vec<(String, Vec<u8>)> = whole
        .iter()
        .map(|(name, value)| (name.clone(), serde_json::to_vec(value).unwrap()))
        .collect();
    let named = || parts.iter().map(|(name, json)| (name.as_str(), json.as_slice()));
    let from_parts = SchemaCache::from_parts(DocumentParts::from_named(named()).unwrap()).unwrap();
    assert_eq!(from_parts.to_json(), cache().to_json());

    // A name the core does not know is ignored; a missing part, or one that does not parse, is named.
    let extra = named().chain([("extra", &b"[]"[..])]);
    assert!(DocumentParts::from_named(extra).is_ok());
    let missing = DocumentParts::from_named(named().filter(|(name, _)| *name != "keys")).unwrap_err();
    assert_eq!(missing, "invalid schema cache document: no part `keys`");
    for broken in ["columns", "tables", "routines"] {
        let parts = named().map(|(name, json)| (name, if name == broken { &b"{}"[..] } else { json }));
        let error = SchemaCache::from_parts(DocumentParts::from_named(parts).unwrap()).unwrap_err();
        assert!(
            error.starts_with(&format!("invalid schema cache document: {broken}: ")),
            "{error}"
        );
    }
}

/// A document with one table `test.t` (oid 1), columns.sql's value `columns` and descriptions.sql's
/// value `descriptions` (JSON).
fn one_table_described(columns: &str, descriptions: &str) -> Result<SchemaCache, String> {
    let document = format!(
        r#"{{"tables": [{{"oid": 1, "schema": "test", "name": "t", "kind": "r",
            "insertable": true, "updatable": true, "deletable": true}}], "columns": {columns},
            "keys": {{"constraints": null, "views": []}}, "routines": [], "descriptions": {descriptions}}}"#
    );
    SchemaCache::from_document(document.as_bytes()).map_err(|e| e.to_string())
}

fn one_table(columns: &str) -> Result<SchemaCache, String> {
    one_table_described(columns, "null")
}

#[test]
fn columns_arrive_as_arrays_in_any_order_and_are_kept_in_attnum_order() {
    let cache = one_table_described(
        r#"{"rel": [1, 1, 1], "attnum": [3, 1, 2], "name": ["c", "a", "b"],
            "nullable": [true, false, true], "data_type": ["text", "integer", "test.mood"],
            "nominal_type": ["text", "int4", "test.mood"], "max_len": [null, null, null],
            "default": ["'x'::text", null, null], "enum_values": [[], [], ["sad", "ok"]],
            "generated": [false, false, false]}"#,
        // The table's comment and its first column's, by attnum; one on a relation not in `tables`.
        r#"{"oid": [1, 1, 99], "attnum": [0, 1, 0], "description": ["the t", "first", "elsewhere"]}"#,
    )
    .expect("loads");
    let table = cache.table(&qi("t")).expect("the table");
    let names: Vec<&str> = table.columns.iter().map(|c| c.name.as_str()).collect();
    assert_eq!(names, ["a", "b", "c"]);
    assert_eq!(table.description.as_deref(), Some("the t"));
    assert_eq!(table.columns[0].description.as_deref(), Some("first"));
    assert_eq!(table.columns[1].description, None);
    assert!(!table.columns[0].nullable);
    assert_eq!(table.columns[1].enum_values, ["sad", "ok"]);
    assert_eq!(table.columns[2].default.as_deref(), Some("'x'::text"));

    let empty = one_table("null").expect("a relation without columns loads");
    assert!(empty.table(&qi("t")).expect("the table").columns.is_empty());
    let ragged = one_table(
        r#"{"rel": [1, 1], "attnum": [1, 2], "name": ["a"], "nullable": [true, true],
            "data_type": ["text", "text"], "nominal_type": ["text", "text"], "max_len": [null, null],
            "default": [null, null], "enum_values": [[], []], "generated": [false, false]}"#,
    );
    assert!(ragged.is_err_and(|e| e.contains("differ in length")));
    let elsewhere = one_table(
        r#"{"rel": [1, 7], "attnum": [1, 1], "name": ["a", "b"], "nullable": [true, true],
            "data_type": ["text", "text"], "nominal_type": ["text", "text"], "max_len": [null, null],
            "default": [null, null], "enum_values": [[], []], "generated": [false, false]}"#,
    );
    assert!(elsewhere.is_err_and(|e| e.contains("column b of an unlisted relation 7")));
}

/// `test.t` (oid 1, columns a and b) and `test.u` (oid 2, column x), with keys.sql's `constraints` value.
fn two_tables_constrained(constraints: &str) -> Result<SchemaCache, String> {
    let table = |oid: u32, name: &str| {
        format!(
            r#"{{"oid": {oid}, "schema": "test", "name": "{name}", "kind": "r", "insertable": true,
                "updatable": true, "deletable": true}}"#
        )
    };
    // The columns of both, interleaved: the core groups them by relation.
    let document = format!(
        r#"{{"tables": [{}, {}], "columns": {{"rel": [2, 1, 1], "attnum": [1, 2, 1],
            "name": ["x", "b", "a"], "nullable": [false, false, false],
            "data_type": ["integer", "integer", "integer"], "nominal_type": ["int4", "int4", "int4"],
            "max_len": [null, null, null], "default": [null, null, null], "enum_values": [[], [], []],
            "generated": [false, false, false]}},
            "keys": {{"constraints": {constraints}, "views": []}}, "routines": [], "descriptions": null}}"#,
        table(1, "t"),
        table(2, "u"),
    );
    SchemaCache::from_document(document.as_bytes()).map_err(|e| e.to_string())
}

/// keys.sql leaves out the column names of the relations `tables` lists: they are named by attnum.
#[test]
fn key_columns_are_named_from_the_listed_tables() {
    let keys = |attnums: &str, foreign_attnums: &str, foreign_columns: &str| {
        two_tables_constrained(&format!(
            r#"{{"name": ["t_pkey", "u_t_fkey"], "kind": ["p", "f"], "rel": [1, 2],
                "schema": ["test", "test"], "table": ["t", "u"], "columns": [null, null],
                "attnums": [{attnums}, [1]], "foreign_rel": [null, 1], "foreign_schema": [null, "test"],
                "foreign_table": [null, "t"], "foreign_columns": [null, {foreign_columns}],
                "foreign_attnums": [null, {foreign_attnums}]}}"#
        ))
    };
    // In the constraint's order, not the table's.
    let cache = keys("[2, 1]", "[2]", "null").expect("loads");
    assert_eq!(cache.table(&qi("t")).expect("t").pk_cols, ["b", "a"]);
    let to_t = format!("{:?}", cache.relationships(&qi("u")));
    assert!(to_t.contains(r#"("x", "b")"#), "{to_t}");
    // Names sent are kept (a relation `tables` does not list).
    let sent = keys("[1]", "[2]", r#"["elsewhere"]"#).expect("loads");
    let to_t = format!("{:?}", sent.relationships(&qi("u")));
    assert!(to_t.contains(r#"("x", "elsewhere")"#), "{to_t}");
    // A column the table lacks, or unnamed columns of a relation not listed, are errors, not panics.
    assert!(keys("[3]", "[2]", "null").is_err_and(|e| e.contains("column 3")));
    assert!(two_tables_constrained(
        r#"{"name": ["v_pkey"], "kind": ["p"], "rel": [7], "schema": ["other"], "table": ["v"],
            "columns": [null], "attnums": [[1]], "foreign_rel": [null], "foreign_schema": [null],
            "foreign_table": [null], "foreign_columns": [null], "foreign_attnums": [null]}"#
    )
    .is_err_and(|e| e.contains("unlisted relation 7")));
}

#[test]
fn is_send_and_sync() {
    fn check<T: Send + Sync>() {}
    check::<SchemaCache>();
}
