//! Sequence parameter set, H.264 7.3.2.1 / 7.4.2.1, with VUI (Annex E).

use super::bits::BitReader;
use super::error::ErrorKind;
use super::tables::misc::{DEFAULT_4X4_INTER, DEFAULT_4X4_INTRA, DEFAULT_8X8_INTER, DEFAULT_8X8_INTRA};

/// Largest picture the parser accepts, in macroblocks: MaxFS of levels 5.1 / 5.2
/// (4096x2304). Edge cameras stay far below; larger pictures only cost memory.
pub const MAX_FRAME_SIZE_MBS: u32 = 36_864;

/// The memory budget of the DPB, in macroblocks: MaxDpbMbs of level 5.2 (Table A-1).
/// Whatever a stream declares, no more reference or reorder frames are kept than fit in it,
/// so hostile parameter sets cannot make the parser hold gigabytes.
pub const DPB_BUDGET_MBS: u32 = 184_320;

/// Scaling matrices in zig-zag (coding) order: six 4x4 lists (Intra Y/Cb/Cr, Inter Y/Cb/Cr)
/// and six 8x8 lists (Intra Y, Inter Y, then Cb/Cr for 4:4:4), 7.4.2.1.1.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScalingMatrices {
    pub list4x4: [[u8; 16]; 6],
    pub list8x8: [[u8; 64]; 6],
}

impl ScalingMatrices {
    pub const FLAT: ScalingMatrices = ScalingMatrices { list4x4: [[16; 16]; 6], list8x8: [[16; 64]; 6] };
}

/// scaling_list(), 7.3.2.1.1.1. Returns whether the default list is to be used
/// (useDefaultScalingMatrixFlag).
fn scaling_list(r: &mut BitReader, list: &mut [u8]) -> Result<bool, ErrorKind> {
    let mut last = 8i32;
    let mut next = 8i32;
    for j in 0..list.len() {
        if next != 0 {
            let delta = r.se_range(-128, 127, "delta_scale")?;
            next = (last + delta + 256) % 256;
            if j == 0 && next == 0 {
                return Ok(true);
            }
        }
        list[j] = if next == 0 { last as u8 } else { next as u8 };
        last = i32::from(list[j]);
    }
    Ok(false)
}

/// Parses the scaling-list part of an SPS or PPS with the fall-back rules of Table 7-2.
/// `fallback` gives the lists to fall back to for entries 0, 3 (4x4) and 0, 1 (8x8):
/// the defaults (rule A) or, in a PPS, the SPS's lists (rule B).
pub(crate) fn parse_scaling_matrices(
    r: &mut BitReader,
    count: usize,
    fallback: &ScalingMatrices,
) -> Result<ScalingMatrices, ErrorKind> {
    let mut m = ScalingMatrices::FLAT;
    for i in 0..count {
        let present = r.flag("scaling_list_present_flag")?;
        if i < 6 {
            if present {
                if scaling_list(r, &mut m.list4x4[i])? {
                    m.list4x4[i] = if i < 3 { DEFAULT_4X4_INTRA } else { DEFAULT_4X4_INTER };
                }
            } else {
                m.list4x4[i] = match i {
                    0 | 3 => fallback.list4x4[i],
                    _ => m.list4x4[i - 1],
                };
            }
        } else {
            let k = i - 6;
            if present {
                if scaling_list(r, &mut m.list8x8[k])? {
                    m.list8x8[k] = if k % 2 == 0 { DEFAULT_8X8_INTRA } else { DEFAULT_8X8_INTER };
                }
            } else {
                m.list8x8[k] = match k {
                    0 | 1 => fallback.list8x8[k],
                    _ => m.list8x8[k - 2],
                };
            }
        }
    }
    // Lists not transmitted at all (count 8 without 4:4:4) follow the same rule.
    for k in count.saturating_sub(6)..6 {
        m.list8x8[k] = if k < 2 { fallback.list8x8[k] } else { m.list8x8[k - 2] };
    }
    Ok(m)
}

/// The default lists, the fall-back of Table 7-2 rule A.
pub fn default_matrices() -> ScalingMatrices {
    ScalingMatrices {
        list4x4: [DEFAULT_4X4_INTRA, DEFAULT_4X4_INTRA, DEFAULT_4X4_INTRA, DEFAULT_4X4_INTER, DEFAULT_4X4_INTER, DEFAULT_4X4_INTER],
        list8x8: [DEFAULT_8X8_INTRA, DEFAULT_8X8_INTER, DEFAULT_8X8_INTRA, DEFAULT_8X8_INTER, DEFAULT_8X8_INTRA, DEFAULT_8X8_INTER],
    }
}

/// hrd_parameters(), E.1.2 (kept: only the field lengths matter for later fields).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Hrd {
    pub cpb_cnt_minus1: u32,
    pub initial_cpb_removal_delay_length_minus1: u8,
    pub cpb_removal_delay_length_minus1: u8,
    pub dpb_output_delay_length_minus1: u8,
    pub time_offset_length: u8,
}

fn hrd_parameters(r: &mut BitReader) -> Result<Hrd, ErrorKind> {
    let cpb_cnt_minus1 = r.ue_max(31, "cpb_cnt_minus1")?;
    r.u(4, "bit_rate_scale")?;
    r.u(4, "cpb_size_scale")?;
    for _ in 0..=cpb_cnt_minus1 {
        r.ue("bit_rate_value_minus1")?;
        r.ue("cpb_size_value_minus1")?;
        r.flag("cbr_flag")?;
    }
    Ok(Hrd {
        cpb_cnt_minus1,
        initial_cpb_removal_delay_length_minus1: r.u(5, "initial_cpb_removal_delay_length_minus1")? as u8,
        cpb_removal_delay_length_minus1: r.u(5, "cpb_removal_delay_length_minus1")? as u8,
        dpb_output_delay_length_minus1: r.u(5, "dpb_output_delay_length_minus1")? as u8,
        time_offset_length: r.u(5, "time_offset_length")? as u8,
    })
}

/// vui_parameters(), E.1.1.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Vui {
    pub aspect_ratio_idc: u8,
    pub sar_width: u16,
    pub sar_height: u16,
    pub overscan_info_present_flag: bool,
    pub overscan_appropriate_flag: bool,
    pub video_format: u8,
    pub video_full_range_flag: bool,
    pub colour_primaries: u8,
    pub transfer_characteristics: u8,
    pub matrix_coefficients: u8,
    pub chroma_sample_loc_type_top_field: u32,
    pub chroma_sample_loc_type_bottom_field: u32,
    pub timing_info_present_flag: bool,
    pub num_units_in_tick: u32,
    pub time_scale: u32,
    pub fixed_frame_rate_flag: bool,
    pub nal_hrd: Option<Hrd>,
    pub vcl_hrd: Option<Hrd>,
    pub low_delay_hrd_flag: bool,
    pub pic_struct_present_flag: bool,
    pub bitstream_restriction_flag: bool,
    pub motion_vectors_over_pic_boundaries_flag: bool,
    pub max_bytes_per_pic_denom: u32,
    pub max_bits_per_mb_denom: u32,
    pub log2_max_mv_length_horizontal: u32,
    pub log2_max_mv_length_vertical: u32,
    pub max_num_reorder_frames: u32,
    pub max_dec_frame_buffering: u32,
}

fn vui_parameters(r: &mut BitReader) -> Result<Vui, ErrorKind> {
    let mut v = Vui { video_format: 5, colour_primaries: 2, transfer_characteristics: 2, matrix_coefficients: 2, ..Vui::default() };
    if r.flag("aspect_ratio_info_present_flag")? {
        v.aspect_ratio_idc = r.u(8, "aspect_ratio_idc")? as u8;
        if v.aspect_ratio_idc == 255 {
            v.sar_width = r.u(16, "sar_width")? as u16;
            v.sar_height = r.u(16, "sar_height")? as u16;
        }
    }
    v.overscan_info_present_flag = r.flag("overscan_info_present_flag")?;
    if v.overscan_info_present_flag {
        v.overscan_appropriate_flag = r.flag("overscan_appropriate_flag")?;
    }
    if r.flag("video_signal_type_present_flag")? {
        v.video_format = r.u(3, "video_format")? as u8;
        v.video_full_range_flag = r.flag("video_full_range_flag")?;
        if r.flag("colour_description_present_flag")? {
            v.colour_primaries = r.u(8, "colour_primaries")? as u8;
            v.transfer_characteristics = r.u(8, "transfer_characteristics")? as u8;
            v.matrix_coefficients = r.u(8, "matrix_coefficients")? as u8;
        }
    }
    if r.flag("chroma_loc_info_present_flag")? {
        v.chroma_sample_loc_type_top_field = r.ue_max(5, "chroma_sample_loc_type_top_field")?;
        v.chroma_sample_loc_type_bottom_field = r.ue_max(5, "chroma_sample_loc_type_bottom_field")?;
    }
    v.timing_info_present_flag = r.flag("timing_info_present_flag")?;
    if v.timing_info_present_flag {
        v.num_units_in_tick = r.u(32, "num_units_in_tick")?;
        v.time_scale = r.u(32, "time_scale")?;
        v.fixed_frame_rate_flag = r.flag("fixed_frame_rate_flag")?;
    }
    if r.flag("nal_hrd_parameters_present_flag")? {
        v.nal_hrd = Some(hrd_parameters(r)?);
    }
    if r.flag("vcl_hrd_parameters_present_flag")? {
        v.vcl_hrd = Some(hrd_parameters(r)?);
    }
    if v.nal_hrd.is_some() || v.vcl_hrd.is_some() {
        v.low_delay_hrd_flag = r.flag("low_delay_hrd_flag")?;
    }
    v.pic_struct_present_flag = r.flag("pic_struct_present_flag")?;
    v.bitstream_restriction_flag = r.flag("bitstream_restriction_flag")?;
    if v.bitstream_restriction_flag {
        v.motion_vectors_over_pic_boundaries_flag = r.flag("motion_vectors_over_pic_boundaries_flag")?;
        v.max_bytes_per_pic_denom = r.ue_max(16, "max_bytes_per_pic_denom")?;
        v.max_bits_per_mb_denom = r.ue_max(16, "max_bits_per_mb_denom")?;
        v.log2_max_mv_length_horizontal = r.ue_max(16, "log2_max_mv_length_horizontal")?;
        v.log2_max_mv_length_vertical = r.ue_max(16, "log2_max_mv_length_vertical")?;
        v.max_num_reorder_frames = r.ue_max(16, "max_num_reorder_frames")?;
        v.max_dec_frame_buffering = r.ue_max(16, "max_dec_frame_buffering")?;
    }
    Ok(v)
}

/// seq_parameter_set_data(), 7.3.2.1.1.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sps {
    pub profile_idc: u8,
    pub constraint_flags: u8,
    pub level_idc: u8,
    pub seq_parameter_set_id: u32,
    pub chroma_format_idc: u32,
    pub separate_colour_plane_flag: bool,
    pub bit_depth_luma_minus8: u32,
    pub bit_depth_chroma_minus8: u32,
    pub qpprime_y_zero_transform_bypass_flag: bool,
    /// Present when seq_scaling_matrix_present_flag is 1 (already with fall-backs applied).
    pub scaling_matrices: Option<ScalingMatrices>,
    pub log2_max_frame_num_minus4: u32,
    pub pic_order_cnt_type: u32,
    pub log2_max_pic_order_cnt_lsb_minus4: u32,
    pub delta_pic_order_always_zero_flag: bool,
    pub offset_for_non_ref_pic: i32,
    pub offset_for_top_to_bottom_field: i32,
    pub offset_for_ref_frame: Vec<i32>,
    pub max_num_ref_frames: u32,
    pub gaps_in_frame_num_value_allowed_flag: bool,
    pub pic_width_in_mbs_minus1: u32,
    pub pic_height_in_map_units_minus1: u32,
    pub frame_mbs_only_flag: bool,
    pub mb_adaptive_frame_field_flag: bool,
    pub direct_8x8_inference_flag: bool,
    pub frame_cropping_flag: bool,
    pub frame_crop_left_offset: u32,
    pub frame_crop_right_offset: u32,
    pub frame_crop_top_offset: u32,
    pub frame_crop_bottom_offset: u32,
    pub vui: Option<Vui>,
}

impl Sps {
    pub fn parse(rbsp: &[u8]) -> Result<Sps, ErrorKind> {
        let mut r = BitReader::new(rbsp);
        let r = &mut r;
        let profile_idc = r.u(8, "profile_idc")? as u8;
        let constraint_flags = r.u(8, "constraint_set_flags")? as u8;
        let level_idc = r.u(8, "level_idc")? as u8;
        let seq_parameter_set_id = r.ue_max(31, "seq_parameter_set_id")?;
        let mut chroma_format_idc = 1;
        let mut separate_colour_plane_flag = false;
        let mut bit_depth_luma_minus8 = 0;
        let mut bit_depth_chroma_minus8 = 0;
        let mut qpprime_y_zero_transform_bypass_flag = false;
        let mut scaling_matrices = None;
        if matches!(profile_idc, 100 | 110 | 122 | 244 | 44 | 83 | 86 | 118 | 128 | 138 | 139 | 134 | 135) {
            chroma_format_idc = r.ue_max(3, "chroma_format_idc")?;
            if chroma_format_idc == 3 {
                separate_colour_plane_flag = r.flag("separate_colour_plane_flag")?;
            }
            bit_depth_luma_minus8 = r.ue_max(6, "bit_depth_luma_minus8")?;
            bit_depth_chroma_minus8 = r.ue_max(6, "bit_depth_chroma_minus8")?;
            qpprime_y_zero_transform_bypass_flag = r.flag("qpprime_y_zero_transform_bypass_flag")?;
            if r.flag("seq_scaling_matrix_present_flag")? {
                let count = if chroma_format_idc != 3 { 8 } else { 12 };
                scaling_matrices = Some(parse_scaling_matrices(r, count, &default_matrices())?);
            }
        }
        let log2_max_frame_num_minus4 = r.ue_max(12, "log2_max_frame_num_minus4")?;
        let pic_order_cnt_type = r.ue_max(2, "pic_order_cnt_type")?;
        let mut log2_max_pic_order_cnt_lsb_minus4 = 0;
        let mut delta_pic_order_always_zero_flag = false;
        let mut offset_for_non_ref_pic = 0;
        let mut offset_for_top_to_bottom_field = 0;
        let mut offset_for_ref_frame = Vec::new();
        if pic_order_cnt_type == 0 {
            log2_max_pic_order_cnt_lsb_minus4 = r.ue_max(12, "log2_max_pic_order_cnt_lsb_minus4")?;
        } else if pic_order_cnt_type == 1 {
            delta_pic_order_always_zero_flag = r.flag("delta_pic_order_always_zero_flag")?;
            offset_for_non_ref_pic = r.se("offset_for_non_ref_pic")?;
            offset_for_top_to_bottom_field = r.se("offset_for_top_to_bottom_field")?;
            let n = r.ue_max(255, "num_ref_frames_in_pic_order_cnt_cycle")?;
            for _ in 0..n {
                offset_for_ref_frame.push(r.se("offset_for_ref_frame")?);
            }
        }
        let max_num_ref_frames = r.ue_max(16, "max_num_ref_frames")?;
        let gaps_in_frame_num_value_allowed_flag = r.flag("gaps_in_frame_num_value_allowed_flag")?;
        let pic_width_in_mbs_minus1 = r.ue("pic_width_in_mbs_minus1")?;
        let pic_height_in_map_units_minus1 = r.ue("pic_height_in_map_units_minus1")?;
        let frame_mbs_only_flag = r.flag("frame_mbs_only_flag")?;
        let mut mb_adaptive_frame_field_flag = false;
        if !frame_mbs_only_flag {
            mb_adaptive_frame_field_flag = r.flag("mb_adaptive_frame_field_flag")?;
        }
        let direct_8x8_inference_flag = r.flag("direct_8x8_inference_flag")?;
        let frame_cropping_flag = r.flag("frame_cropping_flag")?;
        let (mut cl, mut cr, mut ct, mut cb) = (0, 0, 0, 0);
        if frame_cropping_flag {
            cl = r.ue("frame_crop_left_offset")?;
            cr = r.ue("frame_crop_right_offset")?;
            ct = r.ue("frame_crop_top_offset")?;
            cb = r.ue("frame_crop_bottom_offset")?;
        }
        let vui = if r.flag("vui_parameters_present_flag")? { Some(vui_parameters(r)?) } else { None };
        let sps = Sps {
            profile_idc,
            constraint_flags,
            level_idc,
            seq_parameter_set_id,
            chroma_format_idc,
            separate_colour_plane_flag,
            bit_depth_luma_minus8,
            bit_depth_chroma_minus8,
            qpprime_y_zero_transform_bypass_flag,
            scaling_matrices,
            log2_max_frame_num_minus4,
            pic_order_cnt_type,
            log2_max_pic_order_cnt_lsb_minus4,
            delta_pic_order_always_zero_flag,
            offset_for_non_ref_pic,
            offset_for_top_to_bottom_field,
            offset_for_ref_frame,
            max_num_ref_frames,
            gaps_in_frame_num_value_allowed_flag,
            pic_width_in_mbs_minus1,
            pic_height_in_map_units_minus1,
            frame_mbs_only_flag,
            mb_adaptive_frame_field_flag,
            direct_8x8_inference_flag,
            frame_cropping_flag,
            frame_crop_left_offset: cl,
            frame_crop_right_offset: cr,
            frame_crop_top_offset: ct,
            frame_crop_bottom_offset: cb,
            vui,
        };
        sps.check_limits()?;
        Ok(sps)
    }

    fn check_limits(&self) -> Result<(), ErrorKind> {
        let w = u64::from(self.pic_width_in_mbs_minus1) + 1;
        let h = u64::from(self.pic_height_in_map_units_minus1) + 1;
        let mbs = w.saturating_mul(h).saturating_mul(if self.frame_mbs_only_flag { 1 } else { 2 });
        if w > 1024 || h > 1024 || mbs > u64::from(MAX_FRAME_SIZE_MBS) {
            return Err(ErrorKind::LimitExceeded { what: "picture size in macroblocks", value: mbs, limit: u64::from(MAX_FRAME_SIZE_MBS) });
        }
        let (cw, ch) = self.crop_units();
        let crop_x = (u64::from(self.frame_crop_left_offset) + u64::from(self.frame_crop_right_offset)) * u64::from(cw);
        let crop_y = (u64::from(self.frame_crop_top_offset) + u64::from(self.frame_crop_bottom_offset)) * u64::from(ch);
        if crop_x >= w * 16 || crop_y >= h * 16 * if self.frame_mbs_only_flag { 1 } else { 2 } {
            return Err(ErrorKind::OutOfRange { element: "frame_crop_offset", value: crop_x.max(crop_y) as i64 });
        }
        Ok(())
    }

    /// Whether the parser can handle this sequence; the reason when it cannot.
    pub fn check_supported(&self) -> Result<(), ErrorKind> {
        if !self.frame_mbs_only_flag {
            return Err(ErrorKind::Unsupported { feature: "interlaced coding (frame_mbs_only_flag = 0: PAFF/MBAFF)" });
        }
        if self.chroma_format_idc > 1 {
            return Err(ErrorKind::Unsupported { feature: "4:2:2 or 4:4:4 chroma (chroma_format_idc > 1)" });
        }
        if self.bit_depth_luma_minus8 != 0 || self.bit_depth_chroma_minus8 != 0 {
            return Err(ErrorKind::Unsupported { feature: "bit depth above 8" });
        }
        if self.qpprime_y_zero_transform_bypass_flag {
            return Err(ErrorKind::Unsupported { feature: "lossless coding (qpprime_y_zero_transform_bypass_flag)" });
        }
        Ok(())
    }

    /// ChromaArrayType (7.4.2.1.1).
    pub fn chroma_array_type(&self) -> u32 {
        if self.separate_colour_plane_flag { 0 } else { self.chroma_format_idc }
    }

    pub fn mb_width(&self) -> u32 {
        self.pic_width_in_mbs_minus1 + 1
    }

    /// FrameHeightInMbs (7-18).
    pub fn mb_height(&self) -> u32 {
        (self.pic_height_in_map_units_minus1 + 1) * if self.frame_mbs_only_flag { 1 } else { 2 }
    }

    pub fn max_frame_num(&self) -> u32 {
        1 << (self.log2_max_frame_num_minus4 + 4)
    }

    /// CropUnitX, CropUnitY (7-19 .. 7-22).
    fn crop_units(&self) -> (u32, u32) {
        let frame = if self.frame_mbs_only_flag { 1 } else { 2 };
        match self.chroma_array_type() {
            0 => (1, frame),
            1 => (2, 2 * frame),
            2 => (2, frame),
            _ => (1, frame),
        }
    }

    /// The cropped (display) rectangle: (left, top, width, height) in luma samples.
    pub fn crop_rect(&self) -> (u32, u32, u32, u32) {
        let (cw, ch) = self.crop_units();
        let left = self.frame_crop_left_offset * cw;
        let top = self.frame_crop_top_offset * ch;
        let w = self.mb_width() * 16 - (self.frame_crop_left_offset + self.frame_crop_right_offset) * cw;
        let h = self.mb_height() * 16 - (self.frame_crop_top_offset + self.frame_crop_bottom_offset) * ch;
        (left, top, w, h)
    }

    /// Frame rate from the VUI timing info (frames per second), if signalled.
    pub fn frame_rate(&self) -> Option<f64> {
        let v = self.vui.as_ref()?;
        if !v.timing_info_present_flag || v.num_units_in_tick == 0 || v.time_scale == 0 {
            return None;
        }
        Some(f64::from(v.time_scale) / (2.0 * f64::from(v.num_units_in_tick)))
    }

    /// MaxDpbFrames (A.3.1 item h, Table A-1), capped at 16.
    pub fn max_dpb_frames(&self) -> u32 {
        let max_dpb_mbs: u32 = match self.level_idc {
            9 => 396,
            10 => 396,
            11 if self.constraint_flags & 0x10 != 0 && matches!(self.profile_idc, 66 | 77 | 88) => 396,
            11 => 900,
            12 | 13 | 20 => 2376,
            21 => 4752,
            22 | 30 => 8100,
            31 => 18000,
            32 => 20480,
            40 | 41 => 32768,
            42 => 34816,
            50 => 110400,
            51 | 52 => 184320,
            _ => 696320,
        };
        let frame = self.mb_width() * self.mb_height();
        (max_dpb_mbs / frame.max(1)).clamp(1, 16).max(self.max_num_ref_frames).min(self.dpb_cap())
    }

    /// The most frames the DPB holds for this picture size (DPB_BUDGET_MBS), 1..=16.
    pub fn dpb_cap(&self) -> u32 {
        (DPB_BUDGET_MBS / (self.mb_width() * self.mb_height()).max(1)).clamp(1, 16)
    }

    /// max_num_ref_frames, bounded by the DPB budget (a conforming stream is within it).
    pub fn num_ref_frames(&self) -> u32 {
        self.max_num_ref_frames.clamp(1, self.dpb_cap())
    }

    /// How many frames may precede a frame in decoding order and follow it in output order:
    /// max_num_reorder_frames from the VUI, else MaxDpbFrames (C.4.5.3 bumping).
    pub fn num_reorder_frames(&self) -> u32 {
        match &self.vui {
            Some(v) if v.bitstream_restriction_flag => v.max_num_reorder_frames.min(self.dpb_cap()),
            _ => {
                // Intra-only and Baseline-family profiles cannot reorder with POC type 2.
                if self.pic_order_cnt_type == 2 { 0 } else { self.max_dpb_frames() }
            }
        }
    }

    pub fn profile_name(&self) -> &'static str {
        let c1 = self.constraint_flags & 0x40 != 0;
        match self.profile_idc {
            66 if c1 => "Constrained Baseline",
            66 => "Baseline",
            77 => "Main",
            88 => "Extended",
            100 => "High",
            110 => "High 10",
            122 => "High 4:2:2",
            244 => "High 4:4:4 Predictive",
            44 => "CAVLC 4:4:4 Intra",
            _ => "unknown",
        }
    }
}
