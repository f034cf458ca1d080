//! eyegan-proto
