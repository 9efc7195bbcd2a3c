//! Integration tests: the real `twirl` binary on a free port.

mod harness;

mod api_builds;
mod api_limits;
mod serve;
