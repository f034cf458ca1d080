//! eyegan-dataset
