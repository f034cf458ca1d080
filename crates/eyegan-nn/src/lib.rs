//! eyegan-nn
