//! Where the four services answer, whether embedded or remote.

use crate::spec::{ServicesMode, ServicesSection};

/// The URLs of the services an experiment uses.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Endpoints {
    /// Dataset service.
    pub dataset: String,
    /// Trainer services; GAN jobs are spread over them round-robin.
    pub trainers: Vec<String>,
    /// Generator service.
    pub generator: String,
    /// Classifier service.
    pub classifier: String,
}

impl Endpoints {
    /// The endpoints named in a remote `[services]` section; `None` in embedded mode.
    pub fn from_remote(services: &ServicesSection) -> Option<Self> {
        match services.mode {
            ServicesMode::Embedded => None,
            ServicesMode::Remote => Some(Self {
                dataset: services.dataset.clone(),
                trainers: services.trainers.clone(),
                generator: services.generator.clone(),
                classifier: services.classifier.clone(),
            }),
        }
    }

    /// Every endpoint with the name of its service, for health checks and messages.
    pub fn all(&self) -> Vec<(&'static str, &str)> {
        let mut all = vec![("dataset", self.dataset.as_str())];
        all.extend(self.trainers.iter().map(|url| ("trainer", url.as_str())));
        all.push(("generator", self.generator.as_str()));
        all.push(("classifier", self.classifier.as_str()));
        all
    }
}
