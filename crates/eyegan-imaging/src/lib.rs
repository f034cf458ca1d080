//! eyegan-imaging
