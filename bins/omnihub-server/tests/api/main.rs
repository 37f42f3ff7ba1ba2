//! The admin API suite, run in process (actix test service) and against the real binary,
//! each on SQLite and on PostgreSQL (a fresh database per test).

#![expect(
    clippy::unwrap_used,
    reason = "a test should stop loudly at the first unexpected error"
)]

/// For each scenario `fn NAME(&TestDb)` of the current module, `sqlite::NAME` and
/// `postgres::NAME` tests.
macro_rules! on_both_engines {
    ($($scenarios:tt)*) => { omnihub_test_support::on_both_engines!($($scenarios)*); };
}

mod agent_admin;
mod agent_kinds;
mod agent_restarts;
mod binary;
mod console_browser;
mod console_http;
mod flow;
mod hardening_limits;
mod hardening_ops;
mod hardening_upstreams;
mod numbers;
mod outbound_api;
mod pipeline;
mod pipeline_faults;
mod readiness;
mod replicas;
mod rules_api;
mod scenarios;
mod support;
mod webdriver;

/// For each scenario, four tests: `{in_process,binary}::{sqlite,postgres}::NAME`.
macro_rules! suite {
    ($($name:ident),* $(,)?) => {
        mod in_process {
            mod sqlite { $( #[test] fn $name() {
                let db = omnihub_test_support::TestDb::sqlite();
                crate::scenarios::$name(&crate::support::in_process(db.url(), Some(crate::support::ADMIN_KEY)));
            } )* }
            mod postgres { $( #[test] fn $name() {
                let db = omnihub_test_support::TestDb::postgres();
                crate::scenarios::$name(&crate::support::in_process(db.url(), Some(crate::support::ADMIN_KEY)));
            } )* }
        }
        mod binary_suite {
            mod sqlite { $( #[test] fn $name() {
                let db = omnihub_test_support::TestDb::sqlite();
                crate::scenarios::$name(&crate::support::ServerProcess::start(db.url(), Some(crate::support::ADMIN_KEY), &[]));
            } )* }
            mod postgres { $( #[test] fn $name() {
                let db = omnihub_test_support::TestDb::postgres();
                crate::scenarios::$name(&crate::support::ServerProcess::start(db.url(), Some(crate::support::ADMIN_KEY), &[]));
            } )* }
        }
    };
}

suite!(
    operations_endpoints_answer,
    authentication_accepts_both_header_styles_only_with_the_right_key,
    instance_lifecycle_through_every_route,
    caller_mistakes_get_the_documented_json_errors,
    paging_is_validated,
    openapi_lists_every_admin_route_and_parses,
    secrets_never_appear_in_full,
    message_log_lists_filters_and_guards_retries,
    the_openapi_document_is_complete,
    json_bodies_must_be_objects,
    whole_number_floats_are_whole_numbers,
);
