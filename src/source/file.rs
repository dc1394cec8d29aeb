//! Annex-B byte streams from a file, a FIFO or stdin, through the compressed-domain decoder
//! to pictures in display order.

use crate::h264::nal::{AnnexBSplitter, NalRef};
use crate::h264::output::Reorder;
use crate::h264::{Decoder, Error, Output, Picture, SkipSliceData};
use std::io::{self, Read};
use std::sync::Arc;

/// What a pass over a stream reports.
pub enum Event<'a> {
    /// A picture in display order, with its display index (ffmpeg's frame numbering).
    Picture(u64, &'a Picture),
    /// A unit or slice that was dropped.
    Error(&'a Error),
}

/// Totals of a pass.
#[derive(Debug, Default, Clone)]
pub struct Summary {
    pub bytes: u64,
    pub nal_units: u64,
    pub pictures: u64,
    pub errors: u64,
    pub skipped_leading: u64,
}

/// Byte stream -> NAL units -> decoder -> display order. Push bytes as they arrive.
#[derive(Default)]
pub struct Pipeline {
    splitter: AnnexBSplitter,
    decoder: Decoder,
    reorder: Reorder,
    pending: Vec<Arc<Picture>>,
    pub summary: Summary,
}

impl Pipeline {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn decoder(&self) -> &Decoder {
        &self.decoder
    }

    /// The decoder, e.g. to set `skip_slice_data` before the first bytes.
    pub fn decoder_mut(&mut self) -> &mut Decoder {
        &mut self.decoder
    }

    /// Adds stream bytes; `f` sees the pictures and errors they complete.
    pub fn push(&mut self, chunk: &[u8], f: &mut dyn FnMut(Event<'_>)) {
        self.summary.bytes += chunk.len() as u64;
        let Pipeline { splitter, decoder, reorder, pending, summary } = self;
        splitter.push(chunk, |nal| decode(decoder, reorder, nal, pending, summary, f));
    }

    /// Ends the stream.
    pub fn finish(&mut self, f: &mut dyn FnMut(Event<'_>)) {
        let Pipeline { splitter, decoder, reorder, pending, summary } = self;
        splitter.finish(|nal| decode(decoder, reorder, nal, pending, summary, f));
        decoder.flush(&mut |o| collect(o, pending, summary, f));
        release(decoder, reorder, pending, summary, f);
        reorder.drain(&mut |i, p| {
            summary.pictures += 1;
            f(Event::Picture(i, &p));
            decoder.recycle(p);
        });
        summary.skipped_leading = decoder.skipped_leading;
    }
}

fn decode(
    decoder: &mut Decoder,
    reorder: &mut Reorder,
    nal: NalRef<'_>,
    pending: &mut Vec<Arc<Picture>>,
    summary: &mut Summary,
    f: &mut dyn FnMut(Event<'_>),
) {
    summary.nal_units += 1;
    decoder.decode_nal(nal, &mut |o| collect(o, pending, summary, f));
    // Straight away, so that output pictures go back to the decoder's pool before the next.
    release(decoder, reorder, pending, summary, f);
}

/// Moves finished pictures through the reorder buffer.
fn release(
    decoder: &mut Decoder,
    reorder: &mut Reorder,
    pending: &mut Vec<Arc<Picture>>,
    summary: &mut Summary,
    f: &mut dyn FnMut(Event<'_>),
) {
    for pic in pending.drain(..) {
        let depth = pic.reorder_depth;
        reorder.push(pic, depth, &mut |i, p| {
            summary.pictures += 1;
            f(Event::Picture(i, &p));
            decoder.recycle(p);
        });
    }
}

fn collect(o: Output, pending: &mut Vec<Arc<Picture>>, summary: &mut Summary, f: &mut dyn FnMut(Event<'_>)) {
    match o {
        Output::Picture(p) => pending.push(p),
        Output::Error(e) => {
            summary.errors += 1;
            f(Event::Error(&e));
        }
    }
}

/// Reads an Annex-B stream to its end. Only I/O errors stop the pass; stream errors are
/// reported through `f` and skipped.
pub fn decode_stream(input: impl Read, f: impl FnMut(Event<'_>)) -> io::Result<Summary> {
    decode_stream_skipping(input, SkipSliceData::None, f)
}

/// `decode_stream`, with the macroblocks of the slices `skip` names left undecoded.
pub fn decode_stream_skipping(mut input: impl Read, skip: SkipSliceData, mut f: impl FnMut(Event<'_>)) -> io::Result<Summary> {
    let mut p = Pipeline::new();
    p.decoder.skip_slice_data = skip;
    let mut buf = vec![0u8; 1 << 16];
    loop {
        let n = match input.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        p.push(&buf[..n], &mut f);
    }
    p.finish(&mut f);
    Ok(p.summary)
}
