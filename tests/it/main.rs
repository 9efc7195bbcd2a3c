//! Integration tests: the real `twirl` binary on a free port.

mod harness;

mod api_builds;
mod api_limits;
mod console_phone;
mod serve;
