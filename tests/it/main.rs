//! Integration tests against a real PostgreSQL (one test binary, many modules, tests in parallel).

mod cli;
mod contract;
mod harness;
mod http_graphql;
