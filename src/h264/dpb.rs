//! Picture order count (8.2.1), reference picture marking (8.2.5: sliding window, MMCO,
//! frame_num gaps) and reference picture lists for P slices (8.2.4: initialisation and
//! modification). Only what motion-vector extraction needs is kept per reference: no
//! sample planes (there is no motion compensation).

use super::picture::Picture;
use super::slice::{SliceHeader, SliceType};
use super::sps::Sps;
use std::sync::Arc;

/// A frame in the DPB that is marked "used for reference", with its picture (the motion
/// field that B slices read as co-located data, 8.4.1.2.1).
#[derive(Debug, Clone)]
pub struct RefFrame {
    /// decode_index of the picture (u64::MAX - n for frames inferred from a frame_num gap).
    pub id: u64,
    pub frame_num: u32,
    pub poc: i32,
    pub long_term: bool,
    pub long_term_frame_idx: u32,
    /// Inferred by the frame_num gap process (8.2.5.2): may not be used for prediction.
    pub non_existing: bool,
    /// The decoded picture; None for frames inferred from a frame_num gap.
    pub pic: Option<Arc<Picture>>,
}

/// POC state carried from picture to picture (8.2.1).
#[derive(Debug, Clone, Default)]
pub struct PocState {
    prev_poc_msb: i32,
    prev_poc_lsb: i32,
    prev_frame_num_offset: i32,
    prev_frame_num: u32,
    /// frame_num of the previous reference picture (PrevRefFrameNum, 7.4.3).
    pub prev_ref_frame_num: u32,
}

impl PocState {
    /// FrameNumOffset (8-6 / 8-11) of a picture with `frame_num`.
    fn frame_num_offset(&self, sps: &Sps, idr: bool, frame_num: u32) -> i32 {
        if idr {
            0
        } else if self.prev_frame_num > frame_num {
            self.prev_frame_num_offset.wrapping_add(sps.max_frame_num() as i32)
        } else {
            self.prev_frame_num_offset
        }
    }

    /// PicOrderCnt of the frame whose first slice is `h` (min of top and bottom).
    pub fn compute(&mut self, sps: &Sps, h: &SliceHeader) -> i32 {
        let idr = h.is_idr();
        match sps.pic_order_cnt_type {
            0 => {
                if idr {
                    self.prev_poc_msb = 0;
                    self.prev_poc_lsb = 0;
                }
                let max_lsb = 1i32 << (sps.log2_max_pic_order_cnt_lsb_minus4 + 4);
                let lsb = h.pic_order_cnt_lsb as i32;
                let msb = if lsb < self.prev_poc_lsb && self.prev_poc_lsb - lsb >= max_lsb / 2 {
                    self.prev_poc_msb.wrapping_add(max_lsb)
                } else if lsb > self.prev_poc_lsb && lsb - self.prev_poc_lsb > max_lsb / 2 {
                    self.prev_poc_msb.wrapping_sub(max_lsb)
                } else {
                    self.prev_poc_msb
                };
                let top = msb.wrapping_add(lsb);
                let bottom = top.wrapping_add(h.delta_pic_order_cnt_bottom);
                if h.nal_ref_idc != 0 {
                    self.prev_poc_msb = msb;
                    self.prev_poc_lsb = lsb;
                }
                top.min(bottom)
            }
            1 => {
                let offset = self.frame_num_offset(sps, idr, h.frame_num);
                let cycle = &sps.offset_for_ref_frame;
                let n = cycle.len() as i64;
                let mut abs = if n != 0 { i64::from(offset) + i64::from(h.frame_num) } else { 0 };
                if h.nal_ref_idc == 0 && abs > 0 {
                    abs -= 1;
                }
                let mut expected: i64 = 0;
                if abs > 0 {
                    let per_cycle: i64 = cycle.iter().map(|&v| i64::from(v)).sum();
                    let (count, in_cycle) = ((abs - 1) / n, (abs - 1) % n);
                    expected = count * per_cycle + cycle[..=in_cycle as usize].iter().map(|&v| i64::from(v)).sum::<i64>();
                }
                if h.nal_ref_idc == 0 {
                    expected += i64::from(sps.offset_for_non_ref_pic);
                }
                let top = expected + i64::from(h.delta_pic_order_cnt[0]);
                let bottom = top + i64::from(sps.offset_for_top_to_bottom_field) + i64::from(h.delta_pic_order_cnt[1]);
                self.prev_frame_num_offset = offset;
                self.prev_frame_num = h.frame_num;
                top.min(bottom).clamp(i32::MIN.into(), i32::MAX.into()) as i32
            }
            _ => {
                let offset = self.frame_num_offset(sps, idr, h.frame_num);
                let t = if idr {
                    0
                } else {
                    let v = 2 * (i64::from(offset) + i64::from(h.frame_num));
                    if h.nal_ref_idc == 0 { v - 1 } else { v }
                };
                self.prev_frame_num_offset = offset;
                self.prev_frame_num = h.frame_num;
                t.clamp(i32::MIN.into(), i32::MAX.into()) as i32
            }
        }
    }

    /// After a picture with memory_management_control_operation 5 (8.2.1): it counts as
    /// frame_num 0 with its POC reduced to `poc_after`.
    pub fn after_mmco5(&mut self, poc_after: i32) {
        self.prev_poc_msb = 0;
        self.prev_poc_lsb = poc_after;
        self.prev_frame_num_offset = 0;
        self.prev_frame_num = 0;
        self.prev_ref_frame_num = 0;
    }

    /// A frame inferred by the frame_num gap process takes part in the FrameNumOffset chain.
    fn gap_frame(&mut self, sps: &Sps, frame_num: u32) {
        self.prev_frame_num_offset = self.frame_num_offset(sps, false, frame_num);
        self.prev_frame_num = frame_num;
        self.prev_ref_frame_num = frame_num;
    }
}

/// The reference frames (8.2.5); at most 16.
#[derive(Debug, Clone, Default)]
pub struct Dpb {
    pub refs: Vec<RefFrame>,
    /// Pictures no longer used for reference, for the decoder to recycle.
    pub removed: Vec<Arc<Picture>>,
    /// MaxLongTermFrameIdx + 1; 0 means "no long-term frame indices".
    max_long_term_frame_idx_plus1: u32,
    gap_ids: u64,
}

impl Dpb {
    pub fn clear(&mut self) {
        self.remove_where(|_| true);
        self.max_long_term_frame_idx_plus1 = 0;
    }

    /// Unmarks the frames for which `f` is true.
    fn remove_where(&mut self, mut f: impl FnMut(&RefFrame) -> bool) {
        let mut i = 0;
        while i < self.refs.len() {
            if f(&self.refs[i]) {
                let r = self.refs.remove(i);
                self.removed.extend(r.pic);
            } else {
                i += 1;
            }
        }
    }

    /// 8.2.5.2: frames for the frame_num values skipped before `h`, marked by the sliding
    /// window. Returns how many were inferred.
    pub fn fill_frame_num_gap(&mut self, sps: &Sps, h: &SliceHeader, poc: &mut PocState) -> u32 {
        let max = sps.max_frame_num();
        let prev = poc.prev_ref_frame_num;
        if h.is_idr() || h.frame_num == prev || h.frame_num == (prev + 1) % max {
            return 0;
        }
        let mut n = 0;
        let mut f = (prev + 1) % max;
        // At most max_num_ref_frames inferred frames stay; older ones would only be slid out.
        let gap = (h.frame_num + max - f) % max;
        if gap > sps.num_ref_frames() {
            f = (h.frame_num + max - sps.num_ref_frames()) % max;
        }
        while f != h.frame_num {
            self.sliding_window(sps, f);
            self.gap_ids += 1;
            self.refs.push(RefFrame {
                id: u64::MAX - self.gap_ids,
                frame_num: f,
                poc: 0,
                long_term: false,
                long_term_frame_idx: 0,
                non_existing: true,
                pic: None,
            });
            poc.gap_frame(sps, f);
            f = (f + 1) % max;
            n += 1;
        }
        n
    }

    /// 8.2.5.3: removes the short-term frame with the smallest FrameNumWrap when full.
    fn sliding_window(&mut self, sps: &Sps, cur_frame_num: u32) {
        let cap = sps.num_ref_frames() as usize;
        while self.refs.len() >= cap {
            let oldest = self
                .refs
                .iter()
                .enumerate()
                .filter(|(_, r)| !r.long_term)
                .min_by_key(|(_, r)| wrap_pic_num(r.frame_num, cur_frame_num, i64::from(sps.max_frame_num())))
                .map(|(i, _)| i);
            // Only long-term frames: the stream is non-conforming; drop the oldest.
            let r = self.refs.remove(oldest.unwrap_or(0));
            self.removed.extend(r.pic);
        }
    }

    /// 8.2.5.1: marks the decoded reference picture `cur` and applies its MMCOs.
    /// Returns true when an MMCO 5 was executed.
    pub fn mark(&mut self, sps: &Sps, h: &SliceHeader, mut cur: RefFrame) -> bool {
        if h.is_idr() {
            self.clear();
            if h.long_term_reference_flag {
                cur.long_term = true;
                cur.long_term_frame_idx = 0;
                self.max_long_term_frame_idx_plus1 = 1;
            } else {
                self.max_long_term_frame_idx_plus1 = 0;
            }
            self.refs.push(cur);
            return false;
        }
        let mut mmco5 = false;
        let mut current_long = false;
        if h.adaptive_ref_pic_marking_mode_flag {
            let max_pic_num = i64::from(sps.max_frame_num());
            let curr_pic_num = i64::from(h.frame_num);
            for m in h.mmcos() {
                match m.op {
                    1 => {
                        let pic_num = curr_pic_num - (i64::from(m.difference_of_pic_nums_minus1) + 1);
                        self.remove_where(|r| !r.long_term && wrap_pic_num(r.frame_num, h.frame_num, max_pic_num) == pic_num);
                    }
                    2 => self.remove_where(|r| r.long_term && r.long_term_frame_idx == m.long_term_pic_num),
                    3 => {
                        let pic_num = curr_pic_num - (i64::from(m.difference_of_pic_nums_minus1) + 1);
                        let idx = m.long_term_frame_idx;
                        self.remove_where(|r| r.long_term && r.long_term_frame_idx == idx);
                        if let Some(r) = self.refs.iter_mut().find(|r| {
                            !r.long_term && wrap_pic_num(r.frame_num, h.frame_num, max_pic_num) == pic_num
                        }) {
                            r.long_term = true;
                            r.long_term_frame_idx = idx;
                        }
                    }
                    4 => {
                        let lim = m.max_long_term_frame_idx_plus1;
                        self.remove_where(|r| r.long_term && r.long_term_frame_idx + 1 > lim);
                        self.max_long_term_frame_idx_plus1 = lim;
                    }
                    5 => {
                        self.clear();
                        mmco5 = true;
                    }
                    6 => {
                        let idx = m.long_term_frame_idx;
                        self.remove_where(|r| r.long_term && r.long_term_frame_idx == idx);
                        cur.long_term = true;
                        cur.long_term_frame_idx = idx;
                        current_long = true;
                    }
                    _ => {}
                }
            }
        } else {
            self.sliding_window(sps, h.frame_num);
        }
        if !current_long {
            cur.long_term = false;
        }
        if mmco5 {
            // 8.2.1: the picture now counts as frame_num 0, POC 0.
            cur.frame_num = 0;
            cur.poc = 0;
        }
        // Keep the DPB bound even for non-conforming MMCO sequences.
        while self.refs.len() >= sps.num_ref_frames() as usize {
            let r = self.refs.remove(0);
            self.removed.extend(r.pic);
        }
        self.refs.push(cur);
        mmco5
    }

    /// RefPicList0 / RefPicList1 of a P or B slice of the picture with POC `cur_poc`
    /// (8.2.4.2 initialisation, 8.2.4.3 modification); `None` where no reference picture is
    /// available.
    pub fn build_lists(&self, sps: &Sps, h: &SliceHeader, cur_poc: i32, out: &mut [Vec<Option<RefFrame>>; 2]) {
        out[0].clear();
        out[1].clear();
        let max_pic_num = i64::from(sps.max_frame_num());
        let mut long: Vec<&RefFrame> = self.refs.iter().filter(|r| r.long_term).collect();
        long.sort_by_key(|r| r.long_term_frame_idx);
        let lists = match h.slice_type {
            SliceType::P => {
                let mut short: Vec<&RefFrame> = self.refs.iter().filter(|r| !r.long_term).collect();
                short.sort_by_key(|r| std::cmp::Reverse(wrap_pic_num(r.frame_num, h.frame_num, max_pic_num)));
                short.extend(&long);
                vec![short]
            }
            SliceType::B => {
                // 8.2.4.2.3: by POC, before then after the current picture (and the reverse).
                let short = || self.refs.iter().filter(|r| !r.long_term && !r.non_existing);
                let mut before: Vec<&RefFrame> = short().filter(|r| r.poc < cur_poc).collect();
                before.sort_by_key(|r| std::cmp::Reverse(r.poc));
                let mut after: Vec<&RefFrame> = short().filter(|r| r.poc > cur_poc).collect();
                after.sort_by_key(|r| r.poc);
                let mut l0: Vec<&RefFrame> = before.iter().chain(&after).chain(&long).copied().collect();
                let mut l1: Vec<&RefFrame> = after.iter().chain(&before).chain(&long).copied().collect();
                if l1.len() > 1 && l0.iter().zip(&l1).all(|(a, b)| a.id == b.id) {
                    l1.swap(0, 1);
                }
                l0.truncate(32);
                l1.truncate(32);
                vec![l0, l1]
            }
            _ => return,
        };
        let curr_pic_num = i64::from(h.frame_num);
        for (x, init) in lists.into_iter().enumerate() {
            let n = if x == 0 { h.num_ref_idx_l0_active_minus1 } else { h.num_ref_idx_l1_active_minus1 } as usize + 1;
            let mut list: Vec<Option<&RefFrame>> = init.into_iter().map(Some).collect();
            list.resize(n.max(list.len()), None);
            list.truncate(n);
            // 8.2.4.3.1 / 8.2.4.3.2: modification.
            let mut pred = curr_pic_num;
            for (ref_idx, m) in h.modifications(x).iter().enumerate().take(n) {
                let found = match m.modification_of_pic_nums_idc {
                    0 | 1 => {
                        let d = i64::from(m.value) + 1;
                        let mut no_wrap = if m.modification_of_pic_nums_idc == 0 { pred - d } else { pred + d };
                        if no_wrap < 0 {
                            no_wrap += max_pic_num;
                        } else if no_wrap >= max_pic_num {
                            no_wrap -= max_pic_num;
                        }
                        pred = no_wrap;
                        let pic_num = if no_wrap > curr_pic_num { no_wrap - max_pic_num } else { no_wrap };
                        self.refs.iter().find(|r| {
                            !r.long_term && wrap_pic_num(r.frame_num, h.frame_num, max_pic_num) == pic_num
                        })
                    }
                    _ => self.refs.iter().find(|r| r.long_term && r.long_term_frame_idx == m.value),
                };
                list.insert(ref_idx, found);
                // Remove the later duplicate of the inserted picture.
                if let Some(f) = found {
                    if let Some(dup) = list.iter().skip(ref_idx + 1).position(|e| e.is_some_and(|e| e.id == f.id)) {
                        list.remove(ref_idx + 1 + dup);
                    }
                }
                list.truncate(n);
            }
            out[x].extend(list.iter().map(|e| e.filter(|r| !r.non_existing).cloned()));
        }
    }
}

/// PicNum of a short-term frame (8-28): FrameNumWrap.
fn wrap_pic_num(frame_num: u32, cur_frame_num: u32, max_pic_num: i64) -> i64 {
    if frame_num > cur_frame_num {
        i64::from(frame_num) - max_pic_num
    } else {
        i64::from(frame_num)
    }
}
