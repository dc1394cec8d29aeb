//! Slice header, H.264 7.3.3 / 7.4.3, with ref_pic_list_modification (7.3.3.1),
//! pred_weight_table (7.3.3.2) and dec_ref_pic_marking (7.3.3.3).

use super::bits::BitReader;
use super::error::ErrorKind;
use super::nal::{nal_type, NalHeader};
use super::pps::Pps;
use super::sps::Sps;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SliceType {
    P,
    B,
    I,
    Sp,
    Si,
}

impl SliceType {
    fn from_raw(v: u32) -> SliceType {
        match v % 5 {
            0 => SliceType::P,
            1 => SliceType::B,
            2 => SliceType::I,
            3 => SliceType::Sp,
            _ => SliceType::Si,
        }
    }
}

/// One modification_of_pic_nums_idc operation with its argument (abs_diff_pic_num_minus1
/// or long_term_pic_num).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ListModification {
    pub modification_of_pic_nums_idc: u8,
    pub value: u32,
}

/// At most num_ref_idx_active (32) + 1 operations per list.
pub const MAX_MODIFICATIONS: usize = 33;

/// One memory_management_control_operation with its arguments (7.3.3.3).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Mmco {
    pub op: u8,
    pub difference_of_pic_nums_minus1: u32,
    pub long_term_pic_num: u32,
    pub long_term_frame_idx: u32,
    pub max_long_term_frame_idx_plus1: u32,
}

/// The operations a slice header may carry; more is an error (the standard bounds them
/// by the DPB size).
pub const MAX_MMCO: usize = 66;

/// Weights of one reference picture: luma (weight, offset), Cb and Cr (weight, offset).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Weight {
    pub luma_weight_flag: bool,
    pub luma: (i16, i16),
    pub chroma_weight_flag: bool,
    pub chroma: [(i16, i16); 2],
}

/// pred_weight_table(), 7.3.3.2: kept, not applied (no motion compensation).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PredWeightTable {
    pub luma_log2_weight_denom: u8,
    pub chroma_log2_weight_denom: u8,
    pub l0: [Weight; 32],
    pub l1: [Weight; 32],
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SliceHeader {
    pub nal_unit_type: u8,
    pub nal_ref_idc: u8,
    pub first_mb_in_slice: u32,
    pub slice_type: SliceType,
    /// slice_type was coded as 5..9: every slice of the picture has this type.
    pub slice_type_fixed: bool,
    pub pic_parameter_set_id: u32,
    pub frame_num: u32,
    pub idr_pic_id: u32,
    pub pic_order_cnt_lsb: u32,
    pub delta_pic_order_cnt_bottom: i32,
    pub delta_pic_order_cnt: [i32; 2],
    pub redundant_pic_cnt: u32,
    pub direct_spatial_mv_pred_flag: bool,
    pub num_ref_idx_l0_active_minus1: u32,
    pub num_ref_idx_l1_active_minus1: u32,
    pub modifications: [[ListModification; MAX_MODIFICATIONS]; 2],
    pub num_modifications: [u8; 2],
    pub pred_weight_table: Option<Box<PredWeightTable>>,
    pub no_output_of_prior_pics_flag: bool,
    pub long_term_reference_flag: bool,
    /// adaptive_ref_pic_marking_mode_flag
    pub adaptive_ref_pic_marking_mode_flag: bool,
    pub mmcos: [Mmco; MAX_MMCO],
    pub num_mmcos: u8,
    pub cabac_init_idc: u32,
    pub slice_qp_delta: i32,
    pub disable_deblocking_filter_idc: u32,
    pub slice_alpha_c0_offset_div2: i32,
    pub slice_beta_offset_div2: i32,
    /// Bit position of slice_data() in the RBSP.
    pub header_bits: usize,
}

impl SliceHeader {
    pub fn is_idr(&self) -> bool {
        self.nal_unit_type == nal_type::SLICE_IDR
    }

    /// SliceQPY (7-30).
    pub fn slice_qp(&self, pps: &Pps) -> i32 {
        26 + pps.pic_init_qp_minus26 + self.slice_qp_delta
    }

    pub fn mmcos(&self) -> &[Mmco] {
        &self.mmcos[..usize::from(self.num_mmcos)]
    }

    pub fn modifications(&self, list: usize) -> &[ListModification] {
        &self.modifications[list][..usize::from(self.num_modifications[list])]
    }

    /// Whether an MMCO 5 (all references unused, POC reset) is present.
    pub fn has_mmco5(&self) -> bool {
        self.mmcos().iter().any(|m| m.op == 5)
    }

    /// Reads first_mb_in_slice and pic_parameter_set_id to find the parameter sets.
    pub fn peek_pps_id(rbsp: &[u8]) -> Result<u32, ErrorKind> {
        let mut r = BitReader::new(rbsp);
        r.ue("first_mb_in_slice")?;
        r.ue_max(9, "slice_type")?;
        Ok(r.ue_max(255, "pic_parameter_set_id")?)
    }

    /// slice_header(). `rbsp` is the slice's RBSP after the NAL header.
    pub fn parse(rbsp: &[u8], nal: NalHeader, sps: &Sps, pps: &Pps) -> Result<SliceHeader, ErrorKind> {
        let mut rd = BitReader::new(rbsp);
        let r = &mut rd;
        let pic_size = sps.mb_width() * sps.mb_height();
        let first_mb_in_slice = r.ue_max(pic_size - 1, "first_mb_in_slice")?;
        let raw_type = r.ue_max(9, "slice_type")?;
        let slice_type = SliceType::from_raw(raw_type);
        if matches!(slice_type, SliceType::Sp | SliceType::Si) {
            return Err(ErrorKind::Unsupported { feature: "SP/SI slices (Extended profile)" });
        }
        let idr = nal.nal_unit_type == nal_type::SLICE_IDR;
        if idr && slice_type != SliceType::I {
            return Err(ErrorKind::OutOfRange { element: "slice_type", value: i64::from(raw_type) });
        }
        let pic_parameter_set_id = r.ue_max(255, "pic_parameter_set_id")?;
        if sps.separate_colour_plane_flag {
            r.u(2, "colour_plane_id")?;
        }
        let frame_num = r.u(sps.log2_max_frame_num_minus4 + 4, "frame_num")?;
        if !sps.frame_mbs_only_flag && r.flag("field_pic_flag")? {
            return Err(ErrorKind::Unsupported { feature: "field pictures (field_pic_flag = 1)" });
        }
        let idr_pic_id = if idr { r.ue_max(65535, "idr_pic_id")? } else { 0 };
        let mut pic_order_cnt_lsb = 0;
        let mut delta_pic_order_cnt_bottom = 0;
        let mut delta_pic_order_cnt = [0; 2];
        if sps.pic_order_cnt_type == 0 {
            pic_order_cnt_lsb = r.u(sps.log2_max_pic_order_cnt_lsb_minus4 + 4, "pic_order_cnt_lsb")?;
            if pps.bottom_field_pic_order_in_frame_present_flag {
                delta_pic_order_cnt_bottom = r.se("delta_pic_order_cnt_bottom")?;
            }
        }
        if sps.pic_order_cnt_type == 1 && !sps.delta_pic_order_always_zero_flag {
            delta_pic_order_cnt[0] = r.se("delta_pic_order_cnt[0]")?;
            if pps.bottom_field_pic_order_in_frame_present_flag {
                delta_pic_order_cnt[1] = r.se("delta_pic_order_cnt[1]")?;
            }
        }
        let redundant_pic_cnt =
            if pps.redundant_pic_cnt_present_flag { r.ue_max(127, "redundant_pic_cnt")? } else { 0 };
        let mut direct_spatial_mv_pred_flag = false;
        if slice_type == SliceType::B {
            direct_spatial_mv_pred_flag = r.flag("direct_spatial_mv_pred_flag")?;
        }
        let mut num_ref_idx_l0_active_minus1 = pps.num_ref_idx_l0_default_active_minus1;
        let mut num_ref_idx_l1_active_minus1 = pps.num_ref_idx_l1_default_active_minus1;
        if matches!(slice_type, SliceType::P | SliceType::B) {
            if r.flag("num_ref_idx_active_override_flag")? {
                num_ref_idx_l0_active_minus1 = r.ue_max(31, "num_ref_idx_l0_active_minus1")?;
                if slice_type == SliceType::B {
                    num_ref_idx_l1_active_minus1 = r.ue_max(31, "num_ref_idx_l1_active_minus1")?;
                }
            }
            // Frames (not fields) allow 16 references per list (7.4.3).
            if num_ref_idx_l0_active_minus1 > 15 {
                return Err(ErrorKind::OutOfRange {
                    element: "num_ref_idx_l0_active_minus1",
                    value: i64::from(num_ref_idx_l0_active_minus1),
                });
            }
            if slice_type == SliceType::B && num_ref_idx_l1_active_minus1 > 15 {
                return Err(ErrorKind::OutOfRange {
                    element: "num_ref_idx_l1_active_minus1",
                    value: i64::from(num_ref_idx_l1_active_minus1),
                });
            }
        }
        let mut modifications = [[ListModification::default(); MAX_MODIFICATIONS]; 2];
        let mut num_modifications = [0u8; 2];
        // ref_pic_list_modification(), 7.3.3.1 (nal_unit_type 20/21 never reach here).
        let lists = match slice_type {
            SliceType::P => 1,
            SliceType::B => 2,
            _ => 0,
        };
        for list in 0..lists {
            let flag_name = if list == 0 { "ref_pic_list_modification_flag_l0" } else { "ref_pic_list_modification_flag_l1" };
            if r.flag(flag_name)? {
                loop {
                    let idc = r.ue_max(3, "modification_of_pic_nums_idc")?;
                    if idc == 3 {
                        break;
                    }
                    let n = usize::from(num_modifications[list]);
                    if n >= MAX_MODIFICATIONS {
                        return Err(ErrorKind::LimitExceeded {
                            what: "ref_pic_list_modification operations",
                            value: n as u64 + 1,
                            limit: MAX_MODIFICATIONS as u64,
                        });
                    }
                    let value = if idc < 2 {
                        r.ue_max(sps.max_frame_num() - 1, "abs_diff_pic_num_minus1")?
                    } else {
                        r.ue("long_term_pic_num")?
                    };
                    modifications[list][n] = ListModification { modification_of_pic_nums_idc: idc as u8, value };
                    num_modifications[list] += 1;
                }
            }
        }
        let mut pred_weight_table = None;
        if (pps.weighted_pred_flag && slice_type == SliceType::P)
            || (pps.weighted_bipred_idc == 1 && slice_type == SliceType::B)
        {
            pred_weight_table = Some(Box::new(parse_pred_weight_table(
                r,
                sps,
                slice_type,
                num_ref_idx_l0_active_minus1,
                num_ref_idx_l1_active_minus1,
            )?));
        }
        let mut no_output_of_prior_pics_flag = false;
        let mut long_term_reference_flag = false;
        let mut adaptive_ref_pic_marking_mode_flag = false;
        let mut mmcos = [Mmco::default(); MAX_MMCO];
        let mut num_mmcos = 0u8;
        if nal.nal_ref_idc != 0 {
            // dec_ref_pic_marking(), 7.3.3.3.
            if idr {
                no_output_of_prior_pics_flag = r.flag("no_output_of_prior_pics_flag")?;
                long_term_reference_flag = r.flag("long_term_reference_flag")?;
            } else {
                adaptive_ref_pic_marking_mode_flag = r.flag("adaptive_ref_pic_marking_mode_flag")?;
                if adaptive_ref_pic_marking_mode_flag {
                    loop {
                        let op = r.ue_max(6, "memory_management_control_operation")?;
                        if op == 0 {
                            break;
                        }
                        if usize::from(num_mmcos) >= MAX_MMCO {
                            return Err(ErrorKind::LimitExceeded {
                                what: "memory_management_control_operation count",
                                value: u64::from(num_mmcos) + 1,
                                limit: MAX_MMCO as u64,
                            });
                        }
                        let mut m = Mmco { op: op as u8, ..Mmco::default() };
                        if op == 1 || op == 3 {
                            m.difference_of_pic_nums_minus1 = r.ue("difference_of_pic_nums_minus1")?;
                        }
                        if op == 2 {
                            m.long_term_pic_num = r.ue("long_term_pic_num")?;
                        }
                        if op == 3 || op == 6 {
                            m.long_term_frame_idx = r.ue_max(15, "long_term_frame_idx")?;
                        }
                        if op == 4 {
                            m.max_long_term_frame_idx_plus1 = r.ue_max(16, "max_long_term_frame_idx_plus1")?;
                        }
                        mmcos[usize::from(num_mmcos)] = m;
                        num_mmcos += 1;
                    }
                }
            }
        }
        let mut cabac_init_idc = 0;
        if pps.entropy_coding_mode_flag && slice_type != SliceType::I {
            cabac_init_idc = r.ue_max(2, "cabac_init_idc")?;
        }
        let qp_bd = 6 * sps.bit_depth_luma_minus8 as i32;
        let slice_qp_delta = r.se("slice_qp_delta")?;
        let qp = 26 + pps.pic_init_qp_minus26 + slice_qp_delta;
        if qp < -qp_bd || qp > 51 {
            return Err(ErrorKind::OutOfRange { element: "slice_qp_delta", value: i64::from(slice_qp_delta) });
        }
        let mut disable_deblocking_filter_idc = 0;
        let mut slice_alpha_c0_offset_div2 = 0;
        let mut slice_beta_offset_div2 = 0;
        if pps.deblocking_filter_control_present_flag {
            disable_deblocking_filter_idc = r.ue_max(2, "disable_deblocking_filter_idc")?;
            if disable_deblocking_filter_idc != 1 {
                slice_alpha_c0_offset_div2 = r.se_range(-6, 6, "slice_alpha_c0_offset_div2")?;
                slice_beta_offset_div2 = r.se_range(-6, 6, "slice_beta_offset_div2")?;
            }
        }
        // slice_group_change_cycle only exists with slice groups, which PPS parsing refuses.
        Ok(SliceHeader {
            nal_unit_type: nal.nal_unit_type,
            nal_ref_idc: nal.nal_ref_idc,
            first_mb_in_slice,
            slice_type,
            slice_type_fixed: raw_type >= 5,
            pic_parameter_set_id,
            frame_num,
            idr_pic_id,
            pic_order_cnt_lsb,
            delta_pic_order_cnt_bottom,
            delta_pic_order_cnt,
            redundant_pic_cnt,
            direct_spatial_mv_pred_flag,
            num_ref_idx_l0_active_minus1,
            num_ref_idx_l1_active_minus1,
            modifications,
            num_modifications,
            pred_weight_table,
            no_output_of_prior_pics_flag,
            long_term_reference_flag,
            adaptive_ref_pic_marking_mode_flag,
            mmcos,
            num_mmcos,
            cabac_init_idc,
            slice_qp_delta,
            disable_deblocking_filter_idc,
            slice_alpha_c0_offset_div2,
            slice_beta_offset_div2,
            header_bits: r.position(),
        })
    }
}

fn parse_pred_weight_table(
    r: &mut BitReader,
    sps: &Sps,
    slice_type: SliceType,
    l0_minus1: u32,
    l1_minus1: u32,
) -> Result<PredWeightTable, ErrorKind> {
    let luma_log2_weight_denom = r.ue_max(7, "luma_log2_weight_denom")? as u8;
    let chroma = sps.chroma_array_type() != 0;
    let chroma_log2_weight_denom = if chroma { r.ue_max(7, "chroma_log2_weight_denom")? as u8 } else { 0 };
    let mut t = PredWeightTable {
        luma_log2_weight_denom,
        chroma_log2_weight_denom,
        l0: [Weight::default(); 32],
        l1: [Weight::default(); 32],
    };
    let lists = if slice_type == SliceType::B { 2 } else { 1 };
    for list in 0..lists {
        let n = if list == 0 { l0_minus1 } else { l1_minus1 } as usize + 1;
        for i in 0..n {
            let mut w = Weight {
                luma: (1 << luma_log2_weight_denom, 0),
                chroma: [(1 << chroma_log2_weight_denom, 0); 2],
                ..Weight::default()
            };
            w.luma_weight_flag = r.flag("luma_weight_flag")?;
            if w.luma_weight_flag {
                w.luma = (r.se_range(-128, 127, "luma_weight")? as i16, r.se_range(-128, 127, "luma_offset")? as i16);
            }
            if chroma {
                w.chroma_weight_flag = r.flag("chroma_weight_flag")?;
                if w.chroma_weight_flag {
                    for c in &mut w.chroma {
                        *c = (r.se_range(-128, 127, "chroma_weight")? as i16, r.se_range(-128, 127, "chroma_offset")? as i16);
                    }
                }
            }
            if list == 0 { t.l0[i] = w } else { t.l1[i] = w }
        }
    }
    Ok(t)
}
