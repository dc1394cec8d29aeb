//! Pictures for the networks: cropping, Y'CbCr -> R'G'B' conversion and resizing to a
//! model's input size, fused in one pass (`rgb`). Portable code, no SIMD; no allocation
//! per pixel.
#![forbid(unsafe_code)]

pub mod rgb;
