//! The compressed-video representation the networks see (CoViAR, Wu et al., CVPR 2018, as
//! the PKD paper uses it), computed from the compressed-domain pass. `gopwatch extract`
//! (training data) and the device (`run`) both use this module, so the networks see the
//! same numbers in training and on the board.
//!
//! # GOPs
//! A GOP starts at every I picture (all slices intra, IDR or not) and runs, in display
//! order, to the next one. Its chain is its P pictures in display order; B pictures are not
//! in the chain (nothing refers to their motion), but their vectors stay in `Picture`.
//!
//! # Accumulated motion (CoViAR, section 3.2)
//! CoViAR traces every pixel i of picture t back to its source in the GOP's I picture
//! through the chain of P pictures. With T^(t)_i the (whole-pel) motion of pixel i in P
//! picture t, the source of i in picture t - 1 is i - T^(t)_i, and
//!
//! ```text
//!   J^(0)_i = i                                  (at the I picture)
//!   J^(t)_i = J^(t-1)_{i - T^(t)_i}              (traced through picture t)
//!   D^(t)_i = i - J^(t)_i                        (accumulated motion)
//!   R^(t)_i = Δ^(t)_i + R^(t-1)_{i - T^(t)_i}    (accumulated residual, R^(0) = 0)
//! ```
//!
//! so that, were prediction exactly a whole-pel copy, I^(t)_i = I^(0)_{J^(t)_i} + R^(t)_i.
//! As CoViAR's data loader computes T from ffmpeg's exported vectors, so do we
//! (`vectors`): one vector per partition (16x16, 16x8, 8x16 or 8x8; an 8x8 partition with
//! sub-partitions takes its top-left 4x4 block's vector), in whole pels truncated towards
//! zero (ffmpeg's `motion_x / 4`), the reference index ignored (the previous picture of
//! the chain is taken as the reference). A pixel keeps its J and takes its R from itself
//! (T = 0) where the vector is zero, where the macroblock is intra, or where the source
//! block (pixel by pixel) lies outside the window. Coordinates are those of the coded
//! picture, bounded by the display window's width and height, as ffmpeg reports them.
//!
//! Where CoViAR's residual R is the difference of decoded frames (BGR), ours is the
//! compressed residual Δ (dequantised, inverse transformed: `h264::residual`) of Y, Cb and
//! Cr, accumulated by the equation above: no picture is motion-compensated.
//!
//! The non-accumulated variants are T^(t) itself (`Accumulator::last_motion`) and Δ^(t)
//! (`h264::residual::ResidualPlanes`).
//!
//! # Sampling and tensors
//! TSN segments over a clip's chain pictures (`sample`), each with the I picture of its
//! GOP, resized to the model's input (`resize`; I pictures bilinear via `image::rgb`), as
//! integer tensors (`clip::ClipTensors`); `normalise` maps them to the networks' floats.

pub mod accumulate;
pub mod clip;
pub mod normalise;
pub mod resize;
pub mod sample;
pub mod vectors;

pub use accumulate::Accumulator;
pub use clip::{extract, ClipError, ClipTensors, Params, Size};
pub use sample::Sampling;
