//! Sps::parse on the whole input; and with input = [L][SPS RBSP (L bytes)][PPS RBSP],
//! Pps::parse of the rest for the SPS when it parses. Also the accessors a caller uses.
#![no_main]

use gopwatch::h264::pps::Pps;
use gopwatch::h264::sps::Sps;
use libfuzzer_sys::fuzz_target;

fn use_sps(s: &Sps) {
    let _ = s.check_supported();
    let _ = (s.chroma_array_type(), s.mb_width(), s.mb_height(), s.max_frame_num());
    let _ = (s.crop_rect(), s.frame_rate(), s.max_dpb_frames(), s.num_reorder_frames());
    let _ = s.profile_name();
    assert!(u64::from(s.mb_width()) * u64::from(s.mb_height()) <= u64::from(gopwatch::h264::sps::MAX_FRAME_SIZE_MBS));
}

fuzz_target!(|data: &[u8]| {
    if let Ok(s) = Sps::parse(data) {
        use_sps(&s);
    }
    let Some((&l, rest)) = data.split_first() else { return };
    let l = usize::from(l).min(rest.len());
    let (sps, pps) = rest.split_at(l);
    if let Ok(s) = Sps::parse(sps) {
        use_sps(&s);
        let _ = Pps::peek_ids(pps);
        if let Ok(p) = Pps::parse(pps, &s) {
            assert!(p.pic_parameter_set_id <= 255 && p.seq_parameter_set_id <= 31);
        }
    }
});
