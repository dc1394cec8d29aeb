//! A slice NAL unit after the valid parameter sets (and optionally the first IDR picture)
//! of a real stream, through the Decoder; and the same bytes as an Annex-B stream after
//! those parameter sets, through the Pipeline.
//!
//! Input: [selector][slice NAL unit, header byte included, escaped].
//! (selector & 15) % 10 picks the stream; bit 0x10: decode the stream's reference pictures first
//! (its first IDR picture, or every picture before the first B slice);
//! bit 0x20: feed the Pipeline the input alone (no parameter sets).
//! Pictures whose slices are all intra are also reconstructed and deblocked (`recon`); the
//! others go through the residual planes (`residual`).
#![no_main]

use gopwatch::h264::nal::{AnnexBSplitter, NalRef};
use gopwatch::h264::recon::{Options, Reconstructor};
use gopwatch::h264::residual::ResidualDecoder;
use gopwatch::h264::{Decoder, Output, Picture, PictureType};
use gopwatch::source::file::{Event, Pipeline};
use libfuzzer_sys::fuzz_target;

const PREFIXES: [(&[u8], &[u8]); 10] = [
    (include_bytes!("../prefix/ba_mw_d.ps"), include_bytes!("../prefix/ba_mw_d.idr")),
    (include_bytes!("../prefix/high_cavlc_8x8.ps"), include_bytes!("../prefix/high_cavlc_8x8.idr")),
    (include_bytes!("../prefix/mr2_tandberg_e.ps"), include_bytes!("../prefix/mr2_tandberg_e.idr")),
    (include_bytes!("../prefix/base_slices4.ps"), include_bytes!("../prefix/base_slices4.idr")),
    (include_bytes!("../prefix/cvpcmnl1_sva_c.ps"), include_bytes!("../prefix/cvpcmnl1_sva_c.idr")),
    (include_bytes!("../prefix/main_cavlc_b2.ps"), include_bytes!("../prefix/main_cavlc_b2.idr")),
    (include_bytes!("../prefix/high_cavlc_b3_temporal.ps"), include_bytes!("../prefix/high_cavlc_b3_temporal.idr")),
    // CABAC: Main P only; High B pyramid with 8x8 transform; I_PCM.
    (include_bytes!("../prefix/main_cabac_nob.ps"), include_bytes!("../prefix/main_cabac_nob.idr")),
    (include_bytes!("../prefix/high_b3_pyrnormal.ps"), include_bytes!("../prefix/high_b3_pyrnormal.idr")),
    (include_bytes!("../prefix/qcif_2p_i_allipcm.ps"), include_bytes!("../prefix/qcif_2p_i_allipcm.idr")),
];

fn check_picture(p: &Picture) {
    let mbs = p.mb_width as usize * p.mb_height as usize;
    assert_eq!(p.mbs.len(), mbs);
    // The motion field covers the picture (refIdx per 8x8 block).
    assert!(p.ref_idx[0].len() >= mbs * 4 && p.ref_idx[1].len() >= mbs * 4);
    let (w4, h4) = (p.stride4(), p.mb_height as usize * 4);
    let _ = (p.mv(0, w4 - 1, h4 - 1), p.mv(1, w4 - 1, h4 - 1));
    if p.picture_type == PictureType::I {
        if let Ok(f) = Reconstructor::new().reconstruct(p, Options::default()) {
            assert_eq!(f.y.len(), mbs * 256);
        }
    } else if let Ok(r) = ResidualDecoder::new().compute(p) {
        assert_eq!((r.y.len(), r.cb.len(), r.mb.len()), (mbs * 256, mbs * 64, mbs));
    }
}

fn feed(d: &mut Decoder, annexb: &[u8], pictures: &mut u64) {
    let mut units = Vec::new();
    let mut s = AnnexBSplitter::new();
    s.push(annexb, |u| units.push((u.data.to_vec(), u.offset)));
    s.finish(|u| units.push((u.data.to_vec(), u.offset)));
    for (data, offset) in &units {
        decode(d, NalRef { data, offset: *offset }, pictures);
    }
}

fn count_units(annexb: &[u8]) -> u64 {
    let mut n = 0;
    let mut s = AnnexBSplitter::new();
    s.push(annexb, |_| n += 1);
    s.finish(|_| n += 1);
    n
}

fn decode(d: &mut Decoder, nal: NalRef<'_>, pictures: &mut u64) {
    let mut done = Vec::new();
    d.decode_nal(nal, &mut |o| match o {
        Output::Picture(p) => done.push(p),
        Output::Error(_) => {}
    });
    for p in done {
        check_picture(&p);
        *pictures += 1;
        d.recycle(p);
    }
}

fuzz_target!(|data: &[u8]| {
    let Some((&sel, slice)) = data.split_first() else { return };
    let (ps, idr) = PREFIXES[usize::from(sel & 0x0f) % PREFIXES.len()];
    let with_idr = sel & 0x10 != 0;

    // Decoder: parameter sets, [IDR picture], the slice.
    let mut d = Decoder::new();
    let mut pictures = 0u64;
    feed(&mut d, ps, &mut pictures);
    if with_idr {
        feed(&mut d, idr, &mut pictures);
    }
    decode(&mut d, NalRef { data: slice, offset: 0 }, &mut pictures);
    let mut done = Vec::new();
    d.flush(&mut |o| {
        if let Output::Picture(p) = o {
            done.push(p)
        }
    });
    pictures += done.len() as u64;
    // One picture per slice at most.
    let prefix_pictures = if with_idr { 1 + count_units(idr) } else { 0 };
    assert!(pictures <= 1 + prefix_pictures, "{pictures} pictures from one slice");

    // Pipeline: [parameter sets, IDR,] start code, the input as an Annex-B stream.
    let mut p = Pipeline::new();
    let mut f = |e: Event<'_>| {
        if let Event::Picture(_, pic) = e {
            check_picture(pic);
        }
    };
    if sel & 0x20 == 0 {
        p.push(ps, &mut f);
        if with_idr {
            p.push(idr, &mut f);
        }
        p.push(&[0, 0, 0, 1], &mut f);
    }
    // Two chunks, cut where the selector says.
    let cut = (usize::from(sel) * 97) % (slice.len() + 1);
    p.push(&slice[..cut], &mut f);
    p.push(&slice[cut..], &mut f);
    p.finish(&mut f);
    assert!(p.summary.pictures <= p.summary.nal_units, "{:?}", p.summary);
});
