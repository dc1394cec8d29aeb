//! CAVLC residual blocks, H.264 7.3.5.3.2 (residual_block_cavlc) and 9.2.

use super::bits::BitReader;
use super::error::{ErrorKind, Fail};
use super::tables::cavlc::{
    COEFF_TOKEN_CHROMA_DC, COEFF_TOKEN_NC0, COEFF_TOKEN_NC2, COEFF_TOKEN_NC4, COEFF_TOKEN_NC8, RUN_BEFORE,
    TOTAL_ZEROS_4X4, TOTAL_ZEROS_CHROMA_DC,
};

const ROOT_BITS: u32 = 8;

/// Reads one codeword with a two-level table made by tools/gen_tables.py; None for a bit
/// pattern that is not a codeword. Truncation is left to the caller's `check`.
#[inline(always)]
pub fn read_vlc(r: &mut BitReader, table: &[u32]) -> Option<u16> {
    let bits = r.peek(32);
    let mut e = table.get((bits >> (32 - ROOT_BITS)) as usize).copied().unwrap_or(0);
    if e != 0 && e & (1 << 31) == 0 {
        let sub_bits = e & 0xff;
        let offset = (e >> 8) as usize;
        let idx = ((bits << ROOT_BITS) >> (32 - sub_bits)) as usize;
        e = table.get(offset + idx).copied().unwrap_or(0);
    }
    if e & (1 << 31) == 0 {
        return None;
    }
    r.consume((e >> 16) & 0x7f);
    Some(e as u16)
}

#[cold]
fn bad(element: &'static str, value: usize) -> Fail {
    Box::new(ErrorKind::OutOfRange { element, value: value as i64 })
}

/// nC class for coeff_token (9.2.1): -1 for chroma DC, else the neighbour average.
#[inline(always)]
fn coeff_token_table(nc: i32) -> &'static [u32] {
    match nc {
        -1 => &COEFF_TOKEN_CHROMA_DC,
        0..=1 => &COEFF_TOKEN_NC0,
        2..=3 => &COEFF_TOKEN_NC2,
        4..=7 => &COEFF_TOKEN_NC4,
        _ => &COEFF_TOKEN_NC8,
    }
}

/// residual_block_cavlc(): decodes one block into `levels[start_idx..=end_idx]`, returns
/// TotalCoeff(coeff_token). `levels` is written only when TotalCoeff > 0: the levels of a
/// block are meaningful only if its TotalCoeff is.
/// `max_num_coeff` is 4 for chroma DC (4:2:0), 15 for AC blocks, 16 otherwise.
pub fn residual_block(
    r: &mut BitReader,
    nc: i32,
    levels: &mut [i16; 16],
    start_idx: usize,
    end_idx: usize,
    max_num_coeff: usize,
) -> Result<u8, Fail> {
    let token = read_vlc(r, coeff_token_table(nc)).ok_or_else(|| bad("coeff_token", r.peek(16) as usize))?;
    let total_coeff = usize::from(token >> 8);
    let trailing_ones = usize::from(token & 0xff);
    if total_coeff == 0 {
        r.check("coeff_token")?;
        return Ok(0);
    }
    if total_coeff > max_num_coeff || total_coeff > end_idx + 1 - start_idx {
        return Err(bad("coeff_token", total_coeff));
    }
    let mut level_val = [0i32; 16];
    let mut suffix_length: u32 = if total_coeff > 10 && trailing_ones < 3 { 1 } else { 0 };
    if trailing_ones > 0 {
        let signs = r.peek(trailing_ones as u32);
        r.consume(trailing_ones as u32);
        for (i, v) in level_val.iter_mut().enumerate().take(trailing_ones) {
            *v = 1 - 2 * ((signs >> (trailing_ones - 1 - i)) & 1) as i32;
        }
    }
    for i in trailing_ones..total_coeff {
        // level_prefix (9.2.2.1): leading zero bits.
        let lz = r.peek(32).leading_zeros();
        if lz > 25 {
            return Err(bad("level_prefix", lz as usize));
        }
        r.consume(lz + 1);
        let level_prefix = lz;
        let mut level_code: i32 = (level_prefix.min(15) << suffix_length) as i32;
        let level_suffix_size = if level_prefix == 14 && suffix_length == 0 {
            4
        } else if level_prefix >= 15 {
            level_prefix - 3
        } else {
            suffix_length
        };
        if level_suffix_size > 0 && (suffix_length > 0 || level_prefix >= 14) {
            level_code += r.peek(level_suffix_size) as i32;
            r.consume(level_suffix_size);
        }
        if level_prefix >= 15 && suffix_length == 0 {
            level_code += 15;
        }
        if level_prefix >= 16 {
            level_code += (1 << (level_prefix - 3)) - 4096;
        }
        if i == trailing_ones && trailing_ones < 3 {
            level_code += 2;
        }
        level_val[i] = if level_code % 2 == 0 { (level_code + 2) >> 1 } else { (-level_code - 1) >> 1 };
        if suffix_length == 0 {
            suffix_length = 1;
        }
        if level_val[i].abs() > (3 << (suffix_length - 1)) && suffix_length < 6 {
            suffix_length += 1;
        }
    }
    let span = end_idx + 1 - start_idx;
    let mut zeros_left = if total_coeff < span {
        let table = if max_num_coeff == 4 { &TOTAL_ZEROS_CHROMA_DC[..] } else { &TOTAL_ZEROS_4X4[..] };
        let tz = read_vlc(r, table[total_coeff - 1]).ok_or_else(|| bad("total_zeros", 0))? as usize;
        if tz > span - total_coeff {
            return Err(bad("total_zeros", tz));
        }
        tz
    } else {
        0
    };
    *levels = [0; 16];
    // Place levels from the highest frequency down (7.3.5.3.2 / 9.2.4).
    let mut coeff_num = start_idx + total_coeff + zeros_left;
    for i in 0..total_coeff {
        coeff_num -= 1;
        let slot = levels.get_mut(coeff_num).ok_or_else(|| bad("total_zeros", coeff_num))?;
        *slot = level_val[i].clamp(i16::MIN as i32, i16::MAX as i32) as i16;
        if i + 1 < total_coeff && zeros_left > 0 {
            let run = read_vlc(r, RUN_BEFORE[zeros_left.min(7) - 1]).ok_or_else(|| bad("run_before", 0))? as usize;
            if run > zeros_left {
                return Err(bad("run_before", run));
            }
            zeros_left -= run;
            coeff_num -= run;
        }
    }
    // One truncation check per block: reads past the end return zeros, never panic.
    r.check("residual_block_cavlc")?;
    Ok(total_coeff as u8)
}

/// nC for a luma or chroma AC block (9.2.1) from the neighbours' TotalCoeff:
/// `a` / `b` are None where the neighbouring block is not available.
#[inline(always)]
pub fn nc_from_neighbours(a: Option<u8>, b: Option<u8>) -> i32 {
    match (a, b) {
        (Some(a), Some(b)) => (i32::from(a) + i32::from(b) + 1) >> 1,
        (Some(a), None) => i32::from(a),
        (None, Some(b)) => i32::from(b),
        (None, None) => 0,
    }
}
