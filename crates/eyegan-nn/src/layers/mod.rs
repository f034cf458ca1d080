//! Building blocks: parameter initialisation, convolutions, batch norm, pooling, activations.

pub mod activation;
pub mod batch_norm;
pub mod batch_norm_op;
pub mod conv;
pub mod conv_ops;
pub mod gemm;
pub mod im2col;
pub mod init;
pub mod parallel;
pub mod pool;
pub mod scratch;
pub mod simd;
pub(crate) mod storage;
pub mod tanh;
pub mod winograd;

pub use activation::Activation;
pub use batch_norm::BatchNorm2d;
pub use conv::{conv2d, conv_transpose2d, linear, Conv2d, ConvSpec, ConvTranspose2d};
pub use init::WeightInit;
pub use pool::max_pool_2x2;
