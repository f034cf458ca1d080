//! eyegan-metrics
