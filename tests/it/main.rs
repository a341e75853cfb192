//! Integration tests against a real PostgreSQL (one test binary, many modules, tests in parallel).

mod accounts;
mod cli;
mod conformance;
mod contract;
mod fake_oauth;
mod graphiql;
mod harness;
mod http_graphql;
mod messaging;
mod oauth_providers;
mod third_party;
mod ws_protocol;
