//! The security battery (issue #7): each attack a gateway like this one meets, as a test against the real
//! router (in-process, or over real TCP and WebSocket), asserting status codes, `extensions.code` and the
//! absence of detail, with a control that shows the same path succeeds when the attack is taken away.
//!
//! Where each case is covered (`security::*` here, the others in their own modules):
//!
//! | case | tests |
//! |---|---|
//! | mutation over GET (405, `Allow: POST`) | `security::requests::mutations_over_get_are_refused_and_change_nothing`, `http_graphql::get_serves_queries_but_never_mutations` |
//! | mutation through a `text/plain`, form or multipart POST (CSRF, 415) | `security::requests::mutations_through_simple_cross_site_posts_are_refused`, `http_graphql::malformed_bodies_and_content_types` |
//! | CORS preflight grants only the allowlist | `security::origins::cors_grants_only_the_allowlist` |
//! | 101 aliases (`QUERY_TOO_COMPLEX`) | `security::documents::alias_floods_are_refused_on_every_transport`, `http_graphql::limits_refuse_expensive_queries` |
//! | a batch of 100 operations | `security::requests::a_batch_of_100_operations_is_refused_whole`, `http_graphql::batches_run_when_enabled_up_to_the_limit` |
//! | directive overloading | `security::documents::directive_overloading_is_refused`, `http_graphql::limits_refuse_expensive_queries` |
//! | deep queries | `security::documents::deep_queries_are_refused`, `http_graphql::limits_refuse_expensive_queries` |
//! | wide list queries (`works(first: 100) { … works(first: 100) … }` costs per item) | `security::documents::wide_list_queries_cost_what_they_would_fetch` |
//! | parser-recursion bombs (nested selections, fragments, values, JSON) | `security::documents::parser_recursion_bombs_are_refused_without_crashing` |
//! | circular fragments | `security::documents::circular_fragments_are_refused` |
//! | introspection and suggestions off in production | `security::documents::production_hides_the_schema_everywhere` (with `development_keeps_suggestions_as_a_control`), `http_graphql::production_hides_introspection_and_suggestions` |
//! | oversized bodies (413), WebSocket messages over the limit | `security::requests::oversized_bodies_are_refused_over_real_connections`, `http_graphql::malformed_bodies_and_content_types` |
//! | no stack traces or internal detail (`INTERNAL` + `requestId`) | `security::errors::a_broken_statement_answers_a_generic_error_with_the_request_id`, `security::errors::a_closed_pool_answers_a_generic_error` |
//! | JWT `alg: none`, wrong key, other algorithms, expired, wrong audience, and more | `security::tokens::forged_and_stale_tokens_are_unauthenticated`; unit tests in `accounts::tokens` |
//! | revoked session (logout, password change) | `security::tokens::revoked_sessions_are_unauthenticated_at_once_on_every_transport`, `accounts::logout_and_revoke_session_stop_tokens_at_once`, `accounts::refresh_tokens_rotate_and_reuse_revokes_the_session` |
//! | WebSocket upgrade from a foreign Origin (403) | `security::origins::websockets_from_foreign_origins_are_refused_in_production`, `ws_protocol::origins_are_checked_before_upgrading` |
//! | rate limits on verification codes | `security::rate_limits::codes_are_capped_per_client_address_per_day`, `security::rate_limits::codes_are_capped_per_destination_per_day`, `security::rate_limits::sign_in_with_sms_codes_is_bounded`, `accounts::codes_are_rate_limited_and_attempts_bounded` |
//! | rate limits on sign-ins | `security::rate_limits::sign_in_failures_are_throttled_per_client_address`, `accounts::login_by_phone_username_and_email_and_throttling` |
//! | operations per WebSocket (`RATE_LIMITED`) | `ws_protocol::operations_per_socket_are_bounded` |
//!
//! `security::fuzz_replay` runs the fuzz targets' checks (`fuzz/src/lib.rs`) on stable Rust: the seeds in
//! `fuzz/seeds/`, any local `cargo fuzz` corpus, and generated input.
//!
//! Run it alone with `cargo test --test it security`.

mod client;
mod documents;
mod errors;
mod fuzz_replay;
mod origins;
mod rate_limits;
mod requests;
mod tokens;
