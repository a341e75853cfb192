//! Integration tests against a real PostgreSQL (one test binary, many modules, tests in parallel).

mod harness;
mod http_graphql;
