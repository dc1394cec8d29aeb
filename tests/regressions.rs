//! Regression tests for inputs found by fuzzing (fuzz/) and by the mutation test, named
//! after what broke. Each feeds the input bytes through the public API.
//!
//! The tests in this file run one at a time (`serial`), because the memory tests measure
//! the heap through a counting global allocator shared by the whole binary.

use gopwatch::source::file::{decode_stream, Event};
use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Mutex, MutexGuard};

// ---- heap accounting -----------------------------------------------------------------

struct Counting;

static CURRENT: AtomicUsize = AtomicUsize::new(0);
static PEAK: AtomicUsize = AtomicUsize::new(0);

fn grew(n: usize) {
    let now = CURRENT.fetch_add(n, Ordering::Relaxed) + n;
    PEAK.fetch_max(now, Ordering::Relaxed);
}

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, l: Layout) -> *mut u8 {
        let p = System.alloc(l);
        if !p.is_null() {
            grew(l.size());
        }
        p
    }
    unsafe fn alloc_zeroed(&self, l: Layout) -> *mut u8 {
        let p = System.alloc_zeroed(l);
        if !p.is_null() {
            grew(l.size());
        }
        p
    }
    unsafe fn dealloc(&self, p: *mut u8, l: Layout) {
        System.dealloc(p, l);
        CURRENT.fetch_sub(l.size(), Ordering::Relaxed);
    }
    unsafe fn realloc(&self, p: *mut u8, l: Layout, new: usize) -> *mut u8 {
        let q = System.realloc(p, l, new);
        if !q.is_null() {
            if new >= l.size() {
                grew(new - l.size());
            } else {
                CURRENT.fetch_sub(l.size() - new, Ordering::Relaxed);
            }
        }
        q
    }
}

#[global_allocator]
static ALLOC: Counting = Counting;

static SERIAL: Mutex<()> = Mutex::new(());

fn serial() -> MutexGuard<'static, ()> {
    SERIAL.lock().unwrap_or_else(|e| e.into_inner())
}

/// Runs `f` and returns the largest amount of heap it held at once, in bytes.
fn peak_heap(f: impl FnOnce()) -> usize {
    let base = CURRENT.load(Ordering::Relaxed);
    PEAK.store(base, Ordering::Relaxed);
    f();
    PEAK.load(Ordering::Relaxed).saturating_sub(base)
}

/// Decodes a whole Annex-B stream; returns (pictures, errors).
fn decode(stream: &[u8]) -> (u64, u64) {
    let (mut pictures, mut errors) = (0, 0);
    decode_stream(stream, |e| match e {
        Event::Picture(..) => pictures += 1,
        Event::Error(_) => errors += 1,
    })
    .expect("reading from memory cannot fail");
    (pictures, errors)
}

// ---- building small streams -----------------------------------------------------------

/// Writes RBSP bits and escapes them into a NAL unit with a start code.
#[derive(Default)]
struct Bits(Vec<bool>);

impl Bits {
    fn u(&mut self, n: u32, v: u64) -> &mut Self {
        for i in (0..n).rev() {
            self.0.push(v >> i & 1 == 1);
        }
        self
    }
    fn ue(&mut self, v: u64) -> &mut Self {
        let n = 64 - (v + 1).leading_zeros();
        self.u(n - 1, 0).u(n, v + 1)
    }
    fn se(&mut self, v: i64) -> &mut Self {
        self.ue(if v > 0 { 2 * v as u64 - 1 } else { (-2 * v) as u64 })
    }
    /// 00 00 00 01, the header byte, the RBSP with its stop bit, emulation prevention.
    fn nal(&mut self, header: u8) -> Vec<u8> {
        self.0.push(true);
        while self.0.len() % 8 != 0 {
            self.0.push(false);
        }
        let mut out = vec![0, 0, 0, 1, header];
        let mut zeros = 0;
        for byte in self.0.chunks(8) {
            let b = byte.iter().fold(0u8, |a, &bit| a << 1 | u8::from(bit));
            if zeros >= 2 && b <= 3 {
                out.push(3);
                zeros = 0;
            }
            out.push(b);
            zeros = if b == 0 { zeros + 1 } else { 0 };
        }
        out
    }
}

/// Baseline SPS, id 0, 8-bit frame_num, POC type 0 with 8-bit lsb, frames only.
/// `reorder`: a VUI with bitstream_restriction and this max_num_reorder_frames.
fn sps(level: u64, width_mbs: u64, height_mbs: u64, max_num_ref_frames: u64, reorder: Option<u64>) -> Vec<u8> {
    let mut b = Bits::default();
    b.u(8, 66).u(8, 0).u(8, level).ue(0).ue(4).ue(0).ue(4).ue(max_num_ref_frames).u(1, 0);
    b.ue(width_mbs - 1).ue(height_mbs - 1).u(1, 1).u(1, 1).u(1, 0);
    match reorder {
        None => b.u(1, 0),
        Some(n) => {
            // vui_parameters(): nothing present but bitstream_restriction.
            b.u(1, 1).u(1, 0).u(1, 0).u(1, 0).u(1, 0).u(1, 0).u(1, 0).u(1, 0).u(1, 0);
            b.u(1, 1).u(1, 1).ue(0).ue(0).ue(16).ue(16).ue(n).ue(n.max(max_num_ref_frames))
        }
    };
    b.nal(0x67)
}

/// PPS 0 for SPS 0: CAVLC, one slice group, no options.
fn pps() -> Vec<u8> {
    let mut b = Bits::default();
    b.ue(0).ue(0).u(1, 0).u(1, 0).ue(0).ue(0).ue(0).u(1, 0).u(2, 0).se(0).se(0).se(0).u(1, 0).u(1, 0).u(1, 0);
    b.nal(0x68)
}

/// The `i`th I slice (nal_unit_type 1) at macroblock 0 with no macroblock data: each one
/// starts a new picture, then is dropped as truncated. A reference slice has frame_num
/// `i + 1` and sliding-window marking; a non-reference one frame_num 0.
fn empty_i_slice(i: u64, reference: bool) -> Vec<u8> {
    let mut b = Bits::default();
    let frame_num = if reference { (i + 1) & 0xff } else { 0 };
    b.ue(0).ue(7).ue(0).u(8, frame_num).u(8, (2 * i + 2) & 0xff);
    if reference {
        b.u(1, 0); // adaptive_ref_pic_marking_mode_flag
    }
    b.se(0);
    b.nal(if reference { 0x21 } else { 0x01 })
}

fn stream(sps: Vec<u8>, slices: u64, reference: bool) -> Vec<u8> {
    let mut s = sps;
    s.extend(pps());
    for i in 0..slices {
        s.extend(empty_i_slice(i, reference));
    }
    s
}

// ---- tests ------------------------------------------------------------------------------

/// The largest picture used to be 1024x136 macroblocks (140 MB of `Picture` buffers), and
/// the reorder depth came from max_num_ref_frames (16) or from the VUI's
/// max_num_reorder_frames (16) unchecked, and the DPB kept max_num_ref_frames reference
/// pictures: 20 slices of 9 bytes (a ~200-byte stream) made the Pipeline hold 17 or more
/// pictures, 2.5 GB of heap. Now pictures are at most MAX_FRAME_SIZE_MBS (256x144 here)
/// and the DPB and reorder buffer hold at most DPB_BUDGET_MBS (level 5.2's MaxDpbMbs) worth
/// of frames, 5 of this size: with the current picture and one being output, 7.
fn check_oversized_pictures(sps: Vec<u8>, reference: bool, what: &str) {
    let _g = serial();
    let one = stream(sps.clone(), 1, reference);
    let many = stream(sps, 20, reference);
    let mut r1 = (0, 0);
    let one_picture = peak_heap(|| r1 = decode(&one));
    assert_eq!(r1.0, 1, "{what}: the single slice makes one picture");
    let mut r = (0, 0);
    let peak = peak_heap(|| r = decode(&many));
    assert_eq!(r.0, 20, "{what}: 20 pictures");
    assert!(
        peak <= 7 * one_picture,
        "{what}: {} bytes of input held {} MB of heap at once, {:.1} pictures of {} MB \
         (the DPB budget allows 5 such frames)",
        many.len(),
        peak >> 20,
        peak as f64 / one_picture as f64,
        one_picture >> 20
    );
}

#[test]
fn reorder_depth_from_max_num_ref_frames_ignores_picture_size() {
    check_oversized_pictures(sps(52, 256, 144, 16, None), false, "max_num_ref_frames 16, no VUI");
}

#[test]
fn reorder_depth_from_vui_max_num_reorder_frames_ignores_picture_size() {
    check_oversized_pictures(sps(52, 256, 144, 1, Some(16)), false, "VUI max_num_reorder_frames 16");
}

#[test]
fn dpb_keeps_max_num_ref_frames_pictures_whatever_their_size() {
    // Reference pictures, reordering off (VUI max_num_reorder_frames 0): only the DPB holds.
    check_oversized_pictures(sps(52, 256, 144, 16, Some(0)), true, "16 reference frames, no reordering");
}

#[test]
fn pictures_above_the_size_limit_are_refused() {
    let _g = serial();
    let (pictures, errors) = decode(&stream(sps(52, 1024, 136, 1, None), 3, false));
    assert_eq!(pictures, 0);
    assert!(errors >= 1);
}

/// fuzz/artifacts/param_sets/crash-* (minimized: 21 bytes, below): an SPS with
/// frame_mbs_only_flag 0 and pic_width_in_mbs_minus1 / pic_height_in_map_units_minus1 near
/// 2^32 overflowed `w * h * 2` in `Sps::check_limits` (u64) before the size was checked:
/// "attempt to multiply with overflow" wherever overflow checks are on (`cargo test`'s
/// test profile, the fuzz build). Release builds wrapped and then refused the size anyway.
#[test]
fn sps_picture_size_overflows_before_the_limit_check() {
    use gopwatch::h264::sps::Sps;
    let _g = serial();
    // As found by the param_sets target: [SPS length][SPS RBSP][PPS RBSP].
    let found: &[u8] = &[
        0xff, 0xff, 0x16, 0x5d, 0xc0, 0x00, 0x00, 0x00, 0x5b, 0x5b, 0x16, 0x2d, 0x00, 0x00, 0x00, 0x00,
        0xff, 0x01, 0x00, 0x00, 0x02,
    ];
    assert!(Sps::parse(&found[1..]).is_err());
    // The same by construction: Baseline, POC type 2, both sizes 2^32 - 2, fields allowed.
    let mut b = Bits::default();
    b.u(8, 66).u(8, 0).u(8, 52).ue(0).ue(0).ue(2).ue(1).u(1, 0);
    b.ue(u64::from(u32::MAX) - 1).ue(u64::from(u32::MAX) - 1).u(1, 0).u(1, 0).u(1, 1).u(1, 0).u(1, 0);
    let nal = b.nal(0x67);
    assert!(Sps::parse(&nal[5..]).is_err());
    let (pictures, errors) = decode(&nal);
    assert_eq!((pictures, errors), (0, 1));
}
