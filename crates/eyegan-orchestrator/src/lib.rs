//! The EyeGAN orchestrator: reads an experiment file, drives the dataset, trainer, generator and
//! classifier services through their gRPC APIs (embedded in-process or remote), caches every
//! step in a run folder and writes an honest report.

pub mod clients;
pub mod embedded;
pub mod endpoints;
pub mod examples;
pub mod jobs;
pub mod progress;
pub mod report;
pub mod retry;
pub mod run;
pub mod spec;
pub mod steps;
