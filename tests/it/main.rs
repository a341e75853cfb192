//! Integration tests against a real PostgreSQL (one test binary, many modules, tests in parallel).

mod accounts;
mod architecture;
mod cli;
mod conformance;
mod content;
mod contract;
mod correction;
mod demo;
mod fake_oauth;
mod faults;
mod graphiql;
mod harness;
mod http_graphql;
mod introspection;
mod keys;
mod messaging;
mod oauth_providers;
mod privacy;
mod realtime;
mod retention;
mod search;
mod security;
mod third_party;
mod tls;
mod views;
mod ws_protocol;
