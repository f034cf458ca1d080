//! eyegan-service
