//! Where access units come from. For now: files, pipes and stdin carrying an Annex-B byte
//! stream.

pub mod file;
