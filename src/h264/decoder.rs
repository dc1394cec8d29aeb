//! The compressed-domain decoder: takes NAL units in decoding order, keeps parameter sets,
//! assembles slices into pictures (7.4.1.2.4), runs POC and reference marking, and hands
//! out each finished picture in decoding order. Errors drop the slice (or the NAL unit)
//! and are reported; parsing resumes at the next unit.

use super::bits::BitReader;
use super::direct::col_zero_masks;
use super::dpb::{Dpb, PocState, RefFrame};
use super::error::{Error, ErrorKind};
use super::cabac::Cabac;
use super::macroblock::{decode_slice_cavlc, MbScratch, SliceCtx};
use super::macroblock_cabac::decode_slice_cabac;
use super::nal::{nal_type, unescape, NalHeader, NalRef};
use super::picture::{Picture, PictureType, SliceInfo, NO_REF};
use super::pps::Pps;
use super::sei::recovery_point;
use super::slice::{SliceHeader, SliceType};
use super::sps::Sps;
use std::sync::Arc;

/// Slices whose data (the macroblock layer) the decoder skips: their headers are still
/// parsed, so pictures keep their type, POC and place in output order, but their
/// macroblocks are not decoded. B pictures are references of nothing a P or I slice
/// parses, so skipping them leaves every other picture exact.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SkipSliceData {
    #[default]
    None,
    /// B slices (CoViAR's representation does not use B pictures).
    B,
    /// Every slice: picture types and order only.
    All,
}

/// What the decoder hands out.
pub enum Output {
    /// A finished picture, in decoding order. Give it back with `Decoder::recycle`.
    Picture(Arc<Picture>),
    /// A NAL unit or slice that was dropped, and why.
    Error(Error),
}

struct Current {
    pic: Picture,
    sps: Arc<Sps>,
    /// Header of the first slice, which the next slices are compared with.
    first: SliceHeader,
    has_p: bool,
    has_b: bool,
    /// The first slice carries memory_management_control_operation 5.
    mmco5: bool,
}

pub struct Decoder {
    sps: Vec<Option<Arc<Sps>>>,
    pps: Vec<Option<Arc<Pps>>>,
    rbsp: Vec<u8>,
    cur: Option<Current>,
    pool: Vec<Picture>,
    poc: PocState,
    dpb: Dpb,
    nal_index: u64,
    decode_index: u64,
    poc_period: u64,
    scratch: MbScratch,
    cabac: Box<Cabac>,
    lists: [Vec<Option<RefFrame>>; 2],
    /// Parameter sets of the last slice seen (for `probe`).
    pub active: Option<(Arc<Sps>, Arc<Pps>)>,
    /// Output has started: at the first intra picture, or at the recovery point signalled
    /// by a recovery point SEI (a stream joined mid-GOP, or intra refresh without I pictures).
    started: bool,
    /// recovery_frame_cnt of a recovery point SEI waiting for its picture.
    recovery_pending: Option<u32>,
    /// frame_num of the recovery point, once its SEI's picture has started.
    recovery_frame_num: Option<u32>,
    /// Pictures dropped before output started.
    pub skipped_leading: u64,
    /// Slices whose macroblocks are not decoded.
    pub skip_slice_data: SkipSliceData,
}

impl Default for Decoder {
    fn default() -> Self {
        Self::new()
    }
}

impl Decoder {
    pub fn new() -> Decoder {
        Decoder {
            sps: vec![None; 32],
            pps: vec![None; 256],
            rbsp: Vec::new(),
            cur: None,
            pool: Vec::new(),
            poc: PocState::default(),
            dpb: Dpb::default(),
            nal_index: 0,
            decode_index: 0,
            poc_period: 0,
            scratch: MbScratch::default(),
            cabac: Box::default(),
            lists: [Vec::new(), Vec::new()],
            started: false,
            recovery_pending: None,
            recovery_frame_num: None,
            active: None,
            skipped_leading: 0,
            skip_slice_data: SkipSliceData::None,
        }
    }

    /// Returns a picture's buffers for reuse (once nothing else holds the picture).
    pub fn recycle(&mut self, pic: Arc<Picture>) {
        if let Ok(p) = Arc::try_unwrap(pic) {
            if self.pool.len() < 4 {
                self.pool.push(p);
            }
        }
    }

    /// A received SPS, by id.
    pub fn sps(&self, id: u32) -> Option<&Sps> {
        self.sps.get(id as usize)?.as_deref()
    }

    pub fn pps(&self, id: u32) -> Option<&Pps> {
        self.pps.get(id as usize)?.as_deref()
    }

    /// Decodes one NAL unit (escaped bytes, header included).
    pub fn decode_nal(&mut self, nal: NalRef<'_>, out: &mut dyn FnMut(Output)) {
        let index = self.nal_index;
        self.nal_index += 1;
        let err = |kind: ErrorKind, t: u8, bit: usize| Error {
            kind,
            nal_index: index,
            byte_offset: nal.offset,
            nal_unit_type: t,
            bit_position: bit,
            first_mb: None,
            mb_addr: None,
        };
        let header = match NalHeader::parse(nal.data) {
            Ok(h) => h,
            Err(k) => return out(Output::Error(err(k, 0, 0))),
        };
        let t = header.nal_unit_type;
        // 7.4.1.2.3: these units start a new access unit, so the current picture is done.
        if matches!(t, nal_type::SEI..=nal_type::AUD | nal_type::PREFIX..=18 | nal_type::END_OF_SEQUENCE) {
            self.finish_picture(out);
        }
        let payload = nal.data.get(header.len()..).unwrap_or(&[]);
        match t {
            nal_type::SLICE | nal_type::SLICE_IDR => {
                unescape(payload, &mut self.rbsp);
                let rbsp = std::mem::take(&mut self.rbsp);
                if let Err(mut e) = self.decode_slice(&rbsp, header, out) {
                    e.nal_index = index;
                    e.byte_offset = nal.offset;
                    e.nal_unit_type = t;
                    if let Some(c) = self.cur.as_mut() {
                        c.pic.slices_dropped += 1;
                    }
                    out(Output::Error(e));
                }
                self.rbsp = rbsp;
            }
            nal_type::SLICE_DPA..=nal_type::SLICE_DPC => out(Output::Error(err(
                ErrorKind::Unsupported { feature: "data partitioning (nal_unit_type 2..4)" },
                t,
                0,
            ))),
            nal_type::SPS => {
                unescape(payload, &mut self.rbsp);
                match Sps::parse(&self.rbsp) {
                    Ok(s) => {
                        let id = s.seq_parameter_set_id as usize;
                        self.sps[id] = Some(Arc::new(s));
                    }
                    Err(k) => out(Output::Error(err(k, t, 0))),
                }
            }
            nal_type::PPS => {
                unescape(payload, &mut self.rbsp);
                let r = Pps::peek_ids(&self.rbsp).and_then(|(_, sps_id)| {
                    let sps = self.sps[sps_id as usize]
                        .clone()
                        .ok_or(ErrorKind::MissingParameterSet { kind: "SPS", id: sps_id })?;
                    Pps::parse(&self.rbsp, &sps)
                });
                match r {
                    Ok(p) => {
                        let id = p.pic_parameter_set_id as usize;
                        self.pps[id] = Some(Arc::new(p));
                    }
                    Err(k) => out(Output::Error(err(k, t, 0))),
                }
            }
            nal_type::SEI if !self.started => {
                unescape(payload, &mut self.rbsp);
                if let Some(rp) = recovery_point(&self.rbsp) {
                    self.recovery_pending = Some(rp.recovery_frame_cnt);
                }
            }
            nal_type::END_OF_SEQUENCE | nal_type::END_OF_STREAM => self.finish_picture(out),
            // SEI, AUD, filler, SPS extension, SVC/MVC units (the base layer still parses).
            _ => {}
        }
    }

    /// Ends the stream: the last picture is handed out.
    pub fn flush(&mut self, out: &mut dyn FnMut(Output)) {
        self.finish_picture(out);
    }

    fn decode_slice(&mut self, rbsp: &[u8], nal: NalHeader, out: &mut dyn FnMut(Output)) -> Result<(), Error> {
        let plain = |kind: ErrorKind| Error {
            kind,
            nal_index: 0,
            byte_offset: 0,
            nal_unit_type: 0,
            bit_position: 0,
            first_mb: None,
            mb_addr: None,
        };
        let pps_id = SliceHeader::peek_pps_id(rbsp).map_err(plain)?;
        let pps = self.pps[pps_id as usize].clone().ok_or(plain(ErrorKind::MissingParameterSet { kind: "PPS", id: pps_id }))?;
        let sps_id = pps.seq_parameter_set_id;
        let sps = self.sps[sps_id as usize].clone().ok_or(plain(ErrorKind::MissingParameterSet { kind: "SPS", id: sps_id }))?;
        self.active = Some((sps.clone(), pps.clone()));
        sps.check_supported().map_err(plain)?;
        let hdr = SliceHeader::parse(rbsp, nal, &sps, &pps).map_err(plain)?;
        let with_mb = |kind: ErrorKind, bit: usize, mb: Option<u32>| Error {
            kind,
            nal_index: 0,
            byte_offset: 0,
            nal_unit_type: 0,
            bit_position: bit,
            first_mb: Some(hdr.first_mb_in_slice),
            mb_addr: mb,
        };
        if hdr.redundant_pic_cnt > 0 {
            // Redundant coded pictures only matter when the primary one is lost.
            return Ok(());
        }
        let new_picture = match &self.cur {
            None => true,
            Some(c) => {
                !Arc::ptr_eq(&c.sps, &sps)
                    || first_slice_of_new_picture(&c.first, &hdr, &sps)
                    || c.pic.is_written(hdr.first_mb_in_slice as usize)
            }
        };
        if new_picture {
            self.finish_picture(out);
            self.start_picture(&sps, &hdr);
            if let Some(cnt) = self.recovery_pending.take() {
                // D.2.8: the recovery point is the picture with this frame_num.
                let max_frame_num = 1u64 << (sps.log2_max_frame_num_minus4 + 4);
                self.recovery_frame_num = Some(((u64::from(hdr.frame_num) + u64::from(cnt)) % max_frame_num) as u32);
            }
        }
        // start_picture above always leaves a current picture.
        let Some(cur) = self.cur.as_mut() else { return Ok(()) };
        cur.has_p |= hdr.slice_type == SliceType::P;
        cur.has_b |= hdr.slice_type == SliceType::B;
        cur.pic.list1_used |= hdr.slice_type == SliceType::B;
        cur.pic.slices += 1;
        let slice_num = cur.pic.slices;
        self.dpb.build_lists(&sps, &hdr, cur.pic.poc, &mut self.lists);
        let mut ids = [[NO_REF; 32]; 2];
        for (l, list) in self.lists.iter().enumerate() {
            for (i, e) in list.iter().enumerate().take(32) {
                ids[l][i] = e.as_ref().map_or(NO_REF, |r| r.id);
            }
        }
        cur.pic.ref_ids.push(ids);
        cur.pic.slice_info.push(SliceInfo::new(&hdr, &sps, &pps));
        let skip = match self.skip_slice_data {
            SkipSliceData::None => false,
            SkipSliceData::B => hdr.slice_type == SliceType::B,
            SkipSliceData::All => true,
        };
        if skip {
            self.lists[0].clear();
            self.lists[1].clear();
            return Ok(());
        }
        let col_zero = (hdr.slice_type == SliceType::B && hdr.direct_spatial_mv_pred_flag)
            .then(|| col_zero_masks(&self.lists, sps.direct_8x8_inference_flag))
            .flatten();
        let ctx = SliceCtx { sps: &sps, pps: &pps, hdr: &hdr, slice_num, lists: &self.lists, poc: cur.pic.poc, col_zero };
        let mut r = BitReader::new(rbsp);
        r.skip(hdr.header_bits);
        let result = if pps.entropy_coding_mode_flag {
            decode_slice_cabac(&mut r, &mut cur.pic, &ctx, &mut self.scratch, &mut self.cabac)
        } else {
            decode_slice_cavlc(&mut r, &mut cur.pic, &ctx, &mut self.scratch)
        }
        .map_err(|(kind, mb)| with_mb(*kind, r.position(), Some(mb)));
        // The lists hold references to pictures: let them go, so that the pictures can be
        // recycled as soon as they leave the DPB.
        self.lists[0].clear();
        self.lists[1].clear();
        result
    }

    fn start_picture(&mut self, sps: &Arc<Sps>, hdr: &SliceHeader) {
        if !hdr.is_idr() {
            self.dpb.fill_frame_num_gap(sps, hdr, &mut self.poc);
        }
        let poc = self.poc.compute(sps, hdr);
        let mut pic = self.pool.pop().unwrap_or_default();
        pic.reset(sps);
        if hdr.is_idr() || hdr.has_mmco5() {
            self.poc_period += 1;
        }
        pic.poc = poc;
        pic.frame_num = hdr.frame_num;
        pic.idr = hdr.is_idr();
        pic.nal_ref_idc = hdr.nal_ref_idc;
        pic.decode_index = self.decode_index;
        pic.poc_period = self.poc_period;
        pic.reorder_depth = sps.num_reorder_frames();
        self.decode_index += 1;
        self.cur = Some(Current { pic, sps: sps.clone(), first: hdr.clone(), has_p: false, has_b: false, mmco5: hdr.has_mmco5() });
    }

    fn finish_picture(&mut self, out: &mut dyn FnMut(Output)) {
        let Some(mut c) = self.cur.take() else { return };
        c.pic.seal();
        c.pic.picture_type = if c.has_b {
            PictureType::B
        } else if c.has_p {
            PictureType::P
        } else {
            PictureType::I
        };
        if c.mmco5 {
            // 8.2.1: after MMCO 5 the picture counts as POC 0 (frames); it opened a new
            // POC period, so its place in output order is kept.
            c.pic.poc = 0;
        }
        let pic = Arc::new(c.pic);
        if c.first.nal_ref_idc != 0 {
            let cur = RefFrame {
                id: pic.decode_index,
                frame_num: c.first.frame_num,
                poc: pic.poc,
                long_term: false,
                long_term_frame_idx: 0,
                non_existing: false,
                pic: Some(pic.clone()),
            };
            if self.dpb.mark(&c.sps, &c.first, cur) {
                self.poc.after_mmco5(0);
            }
            self.poc.prev_ref_frame_num = if c.mmco5 { 0 } else { c.first.frame_num };
            for p in std::mem::take(&mut self.dpb.removed) {
                self.recycle(p);
            }
        }
        // A stream joined mid-GOP: inter pictures before the first intra one (or before the
        // recovery point) refer to pictures that were never received.
        self.started |= pic.picture_type == PictureType::I || self.recovery_frame_num == Some(pic.frame_num);
        if self.started {
            out(Output::Picture(pic));
        } else {
            self.skipped_leading += 1;
            self.recycle(pic);
        }
    }
}

/// 7.4.1.2.4: whether slice `b` starts a new primary coded picture after slice `a`.
fn first_slice_of_new_picture(a: &SliceHeader, b: &SliceHeader, sps: &Sps) -> bool {
    a.frame_num != b.frame_num
        || a.pic_parameter_set_id != b.pic_parameter_set_id
        || (a.nal_ref_idc == 0) != (b.nal_ref_idc == 0)
        || (sps.pic_order_cnt_type == 0
            && (a.pic_order_cnt_lsb != b.pic_order_cnt_lsb || a.delta_pic_order_cnt_bottom != b.delta_pic_order_cnt_bottom))
        || (sps.pic_order_cnt_type == 1 && a.delta_pic_order_cnt != b.delta_pic_order_cnt)
        || a.is_idr() != b.is_idr()
        || (a.is_idr() && b.is_idr() && a.idr_pic_id != b.idr_pic_id)
}
