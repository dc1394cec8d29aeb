//! Picture parameter set, H.264 7.3.2.2 / 7.4.2.2.

use super::bits::BitReader;
use super::error::ErrorKind;
use super::sps::{default_matrices, parse_scaling_matrices, ScalingMatrices, Sps};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pps {
    pub pic_parameter_set_id: u32,
    pub seq_parameter_set_id: u32,
    pub entropy_coding_mode_flag: bool,
    pub bottom_field_pic_order_in_frame_present_flag: bool,
    pub num_slice_groups_minus1: u32,
    pub num_ref_idx_l0_default_active_minus1: u32,
    pub num_ref_idx_l1_default_active_minus1: u32,
    pub weighted_pred_flag: bool,
    pub weighted_bipred_idc: u32,
    pub pic_init_qp_minus26: i32,
    pub pic_init_qs_minus26: i32,
    pub chroma_qp_index_offset: i32,
    pub deblocking_filter_control_present_flag: bool,
    pub constrained_intra_pred_flag: bool,
    pub redundant_pic_cnt_present_flag: bool,
    pub transform_8x8_mode_flag: bool,
    /// Present when pic_scaling_matrix_present_flag is 1 (fall-backs already applied).
    pub scaling_matrices: Option<ScalingMatrices>,
    pub second_chroma_qp_index_offset: i32,
}

impl Pps {
    /// Reads the PPS id and its SPS id, to find the SPS that the rest of the PPS needs.
    pub fn peek_ids(rbsp: &[u8]) -> Result<(u32, u32), ErrorKind> {
        let mut r = BitReader::new(rbsp);
        let pps_id = r.ue_max(255, "pic_parameter_set_id")?;
        let sps_id = r.ue_max(31, "seq_parameter_set_id")?;
        Ok((pps_id, sps_id))
    }

    pub fn parse(rbsp: &[u8], sps: &Sps) -> Result<Pps, ErrorKind> {
        let mut r = BitReader::new(rbsp);
        let r = &mut r;
        let pic_parameter_set_id = r.ue_max(255, "pic_parameter_set_id")?;
        let seq_parameter_set_id = r.ue_max(31, "seq_parameter_set_id")?;
        let entropy_coding_mode_flag = r.flag("entropy_coding_mode_flag")?;
        let bottom_field_pic_order_in_frame_present_flag = r.flag("bottom_field_pic_order_in_frame_present_flag")?;
        let num_slice_groups_minus1 = r.ue_max(7, "num_slice_groups_minus1")?;
        if num_slice_groups_minus1 > 0 {
            return Err(ErrorKind::Unsupported { feature: "flexible macroblock ordering (num_slice_groups_minus1 > 0)" });
        }
        let num_ref_idx_l0_default_active_minus1 = r.ue_max(31, "num_ref_idx_l0_default_active_minus1")?;
        let num_ref_idx_l1_default_active_minus1 = r.ue_max(31, "num_ref_idx_l1_default_active_minus1")?;
        let weighted_pred_flag = r.flag("weighted_pred_flag")?;
        let weighted_bipred_idc = r.u(2, "weighted_bipred_idc")?;
        if weighted_bipred_idc == 3 {
            return Err(ErrorKind::OutOfRange { element: "weighted_bipred_idc", value: 3 });
        }
        let qp_bd = 6 * sps.bit_depth_luma_minus8 as i32;
        let pic_init_qp_minus26 = r.se_range(-26 - qp_bd, 25, "pic_init_qp_minus26")?;
        let pic_init_qs_minus26 = r.se_range(-26, 25, "pic_init_qs_minus26")?;
        let chroma_qp_index_offset = r.se_range(-12, 12, "chroma_qp_index_offset")?;
        let deblocking_filter_control_present_flag = r.flag("deblocking_filter_control_present_flag")?;
        let constrained_intra_pred_flag = r.flag("constrained_intra_pred_flag")?;
        let redundant_pic_cnt_present_flag = r.flag("redundant_pic_cnt_present_flag")?;
        let mut transform_8x8_mode_flag = false;
        let mut scaling_matrices = None;
        let mut second_chroma_qp_index_offset = chroma_qp_index_offset;
        if r.more_rbsp_data() {
            transform_8x8_mode_flag = r.flag("transform_8x8_mode_flag")?;
            if r.flag("pic_scaling_matrix_present_flag")? {
                let lists_8x8 = if sps.chroma_format_idc != 3 { 2 } else { 6 };
                let count = 6 + lists_8x8 * usize::from(transform_8x8_mode_flag);
                // Table 7-2: rule A (defaults) without an SPS matrix, rule B (the SPS's) with one.
                let fallback = sps.scaling_matrices.clone().unwrap_or_else(default_matrices);
                scaling_matrices = Some(parse_scaling_matrices(r, count, &fallback)?);
            }
            second_chroma_qp_index_offset = r.se_range(-12, 12, "second_chroma_qp_index_offset")?;
        }
        Ok(Pps {
            pic_parameter_set_id,
            seq_parameter_set_id,
            entropy_coding_mode_flag,
            bottom_field_pic_order_in_frame_present_flag,
            num_slice_groups_minus1,
            num_ref_idx_l0_default_active_minus1,
            num_ref_idx_l1_default_active_minus1,
            weighted_pred_flag,
            weighted_bipred_idc,
            pic_init_qp_minus26,
            pic_init_qs_minus26,
            chroma_qp_index_offset,
            deblocking_filter_control_present_flag,
            constrained_intra_pred_flag,
            redundant_pic_cnt_present_flag,
            transform_8x8_mode_flag,
            scaling_matrices,
            second_chroma_qp_index_offset,
        })
    }
}
