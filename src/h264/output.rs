//! Output (display) order: the bumping process of C.4.5.3 over pictures handed out in
//! decoding order. Pictures are ordered by POC within a POC period (from one IDR or MMCO 5
//! to the next); at most `num_reorder_frames` wait, so memory stays bounded.

use super::picture::Picture;
use std::sync::Arc;

pub struct Reorder {
    held: Vec<Arc<Picture>>,
    depth: usize,
    next_index: u64,
}

impl Reorder {
    pub fn new() -> Self {
        Reorder { held: Vec::new(), depth: 0, next_index: 0 }
    }

    /// Adds a picture in decoding order with the reorder depth of its SPS; calls `f` with
    /// (display index, picture) for each picture that can now be output.
    pub fn push(&mut self, pic: Arc<Picture>, depth: u32, f: &mut dyn FnMut(u64, Arc<Picture>)) {
        if self.held.iter().any(|p| p.poc_period != pic.poc_period) {
            self.drain(f);
        }
        self.depth = depth.min(16) as usize;
        self.held.push(pic);
        while self.held.len() > self.depth {
            self.pop_first(f);
        }
    }

    /// Outputs everything held (end of stream).
    pub fn drain(&mut self, f: &mut dyn FnMut(u64, Arc<Picture>)) {
        while !self.held.is_empty() {
            self.pop_first(f);
        }
    }

    fn pop_first(&mut self, f: &mut dyn FnMut(u64, Arc<Picture>)) {
        let Some(i) = (0..self.held.len()).min_by_key(|&i| (self.held[i].poc, self.held[i].decode_index)) else {
            return;
        };
        let pic = self.held.remove(i);
        let idx = self.next_index;
        self.next_index += 1;
        f(idx, pic);
    }
}

impl Default for Reorder {
    fn default() -> Self {
        Self::new()
    }
}
