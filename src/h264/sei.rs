//! Supplemental enhancement information (H.264 7.3.2.3, Annex D): only what the parser
//! acts on, the recovery point (D.1.8 / D.2.8), which lets a stream without intra pictures
//! (intra refresh) be joined mid-way.

use super::bits::BitReader;

/// recovery_point() of an SEI message (payloadType 6).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RecoveryPoint {
    /// Pictures (in frame_num steps) until the output is exact.
    pub recovery_frame_cnt: u32,
    pub exact_match_flag: bool,
    pub broken_link_flag: bool,
}

/// The recovery point in an SEI RBSP, if one of its messages is one. Malformed messages end
/// the search (an SEI is advisory: a damaged one is ignored, never an error).
pub fn recovery_point(rbsp: &[u8]) -> Option<RecoveryPoint> {
    let mut pos = 0;
    // sei_message() until rbsp_trailing_bits (a lone 0x80).
    while pos < rbsp.len() && rbsp[pos..] != [0x80] {
        let mut take = || {
            let mut v = 0usize;
            loop {
                let b = *rbsp.get(pos)?;
                pos += 1;
                v = v.checked_add(usize::from(b))?;
                if b != 0xff {
                    return Some(v);
                }
            }
        };
        let payload_type = take()?;
        let payload_size = take()?;
        let payload = rbsp.get(pos..pos.checked_add(payload_size)?)?;
        if payload_type == 6 {
            let mut r = BitReader::new(payload);
            let recovery_frame_cnt = r.ue("recovery_frame_cnt").ok()?;
            let exact_match_flag = r.flag("exact_match_flag").ok()?;
            let broken_link_flag = r.flag("broken_link_flag").ok()?;
            return Some(RecoveryPoint { recovery_frame_cnt, exact_match_flag, broken_link_flag });
        }
        pos += payload_size;
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_the_recovery_point_after_other_messages() {
        // user_data_unregistered (type 5, 3 bytes), then recovery_point (type 6, 2 bytes:
        // ue(9) = 0001010 and exact_match_flag 0 make 0x14; broken_link_flag 0,
        // changing_slice_group_idc 00 and the payload's alignment bits 10000 follow), then
        // the trailing bits.
        let rbsp = [5, 3, 1, 2, 3, 6, 2, 0b0001_0100, 0b0001_0000, 0x80];
        assert_eq!(
            recovery_point(&rbsp),
            Some(RecoveryPoint { recovery_frame_cnt: 9, exact_match_flag: false, broken_link_flag: false })
        );
    }

    #[test]
    fn malformed_or_missing_gives_none() {
        assert_eq!(recovery_point(&[]), None);
        assert_eq!(recovery_point(&[5, 3, 1, 2, 3, 0x80]), None);
        assert_eq!(recovery_point(&[6, 200, 1]), None);
        assert_eq!(recovery_point(&[0xff, 0xff, 0xff]), None);
    }
}
