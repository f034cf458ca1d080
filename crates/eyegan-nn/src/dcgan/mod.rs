//! The DCGAN of PyTorch's reference implementation (Radford et al.), which the paper ran.
//!
//! Parameter names are the reference `state_dict` keys: both networks are an `nn.Sequential`
//! called `main`, so a layer's key is `main.<index in the Sequential>.<tensor>`, and a PyTorch
//! user can `netG.load_state_dict(safetensors.torch.load_file("generator.safetensors"))`.

pub mod discriminator;
pub mod generator;

pub use discriminator::Discriminator;
pub use generator::Generator;
