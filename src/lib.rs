//! gopwatch: action recognition from a camera's H.264 stream in the compressed domain.

pub mod dataset;
pub mod features;
pub mod h264;
pub mod image;
pub mod source;
