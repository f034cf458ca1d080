//! Integration tests of the generator service against the real dataset service on
//! 127.0.0.1:0.

mod cancel;
mod generation;
mod requests;
mod restart;
mod sampling;
mod support;
