//! The part of the configuration the core needs. Built once per (re)load on the Python side.

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum TxEnd {
    #[default]
    Commit,
    CommitAllowOverride,
    Rollback,
    RollbackAllowOverride,
}

impl TxEnd {
    pub fn parse(value: &str) -> Option<TxEnd> {
        match value {
            "commit" => Some(TxEnd::Commit),
            "commit-allow-override" => Some(TxEnd::CommitAllowOverride),
            "rollback" => Some(TxEnd::Rollback),
            "rollback-allow-override" => Some(TxEnd::RollbackAllowOverride),
            _ => None,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Settings {
    /// `db-schemas`: the exposed schemas; the first is the default profile.
    pub db_schemas: Vec<String>,
    /// `db-extra-search-path`: appended to `search_path`, never exposed.
    pub db_extra_search_path: Vec<String>,
    /// `db-max-rows`: caps the top level and to-many embeds of reads.
    pub db_max_rows: Option<u64>,
    pub db_aggregates_enabled: bool,
    pub db_plan_enabled: bool,
    pub db_tx_end: TxEnd,
    /// `db-pre-request`: a schema-qualified function name run before the main statement.
    pub db_pre_request: Option<String>,
    pub url_use_legacy_target_names: bool,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            db_schemas: vec!["public".to_owned()],
            db_extra_search_path: vec!["public".to_owned()],
            db_max_rows: None,
            db_aggregates_enabled: false,
            db_plan_enabled: false,
            db_tx_end: TxEnd::Commit,
            db_pre_request: None,
            url_use_legacy_target_names: true,
        }
    }
}
