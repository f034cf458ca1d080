//! Job system tests with a real multi-step, checkpointing runner.

mod grpc_glue;
mod lifecycle;
mod restart;
mod support;
mod watching;
