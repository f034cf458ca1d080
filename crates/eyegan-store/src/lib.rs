//! eyegan-store
