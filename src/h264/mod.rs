//! Compressed-domain H.264: everything up to motion vectors and residual levels, without
//! motion compensation; intra pictures can be reconstructed on request (`recon`). Pure: no
//! I/O; never panics on input.
#![forbid(unsafe_code)]

pub mod bits;
pub mod cabac;
pub mod cavlc;
pub mod deblock;
pub mod decoder;
pub mod dequant;
pub mod direct;
pub mod dpb;
pub mod error;
pub mod intra_pred;
pub mod macroblock;
pub mod macroblock_cabac;
pub mod mb;
pub mod mvpred;
pub mod nal;
pub mod output;
pub mod picture;
pub mod pps;
pub mod recon;
pub mod residual;
pub mod sei;
pub mod slice;
pub mod sps;
pub mod tables;
pub mod transform;

pub use decoder::{Decoder, Output, SkipSliceData};
pub use error::{Error, ErrorKind};
pub use picture::{Picture, PictureType};
