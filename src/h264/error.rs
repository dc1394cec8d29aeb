//! Errors of the compressed-domain parser. `ErrorKind` says what was wrong with which
//! syntax element; `Error` adds where: the NAL unit, its byte offset in the stream, and the
//! slice and macroblock when known.

use std::fmt;

/// What went wrong, named after the syntax element or feature.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ErrorKind {
    /// The RBSP ended inside this syntax element: the NAL unit was cut (lost packet, file
    /// truncated). The parser drops the slice and resumes at the next NAL unit.
    Truncated { element: &'static str },
    /// The element's value is outside the range the standard allows.
    OutOfRange { element: &'static str, value: i64 },
    /// A slice or PPS refers to a parameter set that has not been received (a stream joined
    /// mid-way, or a lost SPS/PPS). Parsing resumes once it arrives.
    MissingParameterSet { kind: &'static str, id: u32 },
    /// A feature outside gopwatch's scope (see DESIGN.md); the stream must be re-encoded
    /// (progressive 8-bit 4:2:0, no FMO/data partitioning/SP/SI).
    Unsupported { feature: &'static str },
    /// A size or count above the parser's fixed limits, which bound its memory.
    LimitExceeded { what: &'static str, value: u64, limit: u64 },
    /// A NAL unit whose header is invalid (forbidden_zero_bit set, empty unit).
    BadNalHeader { detail: &'static str },
}

impl fmt::Display for ErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ErrorKind::Truncated { element } => write!(f, "data ends inside {element} (cut or lost NAL unit)"),
            ErrorKind::OutOfRange { element, value } => write!(f, "{element} = {value} is out of range"),
            ErrorKind::MissingParameterSet { kind, id } => {
                write!(f, "{kind} id {id} was not received before it was referenced")
            }
            ErrorKind::Unsupported { feature } => write!(
                f,
                "unsupported: {feature}; gopwatch reads progressive 8-bit 4:2:0 Baseline/Main/High \
                 streams, re-encode or reconfigure the camera"
            ),
            ErrorKind::LimitExceeded { what, value, limit } => {
                write!(f, "{what} = {value} exceeds the limit {limit}")
            }
            ErrorKind::BadNalHeader { detail } => write!(f, "bad NAL unit header: {detail}"),
        }
    }
}

/// The error type of the per-bit hot paths: boxed so that `Result<u32, Fail>` is returned
/// in registers. Converts to and from `ErrorKind` with `?`.
pub type Fail = Box<ErrorKind>;

impl From<Box<ErrorKind>> for ErrorKind {
    fn from(b: Box<ErrorKind>) -> Self {
        *b
    }
}

/// An error with its place in the stream.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Error {
    pub kind: ErrorKind,
    /// Index of the NAL unit in the stream (0-based).
    pub nal_index: u64,
    /// Byte offset of the NAL unit's first byte (after the start code) in the stream.
    pub byte_offset: u64,
    /// nal_unit_type of the unit.
    pub nal_unit_type: u8,
    /// Bit position inside the NAL unit's RBSP where the error was found.
    pub bit_position: usize,
    /// first_mb_in_slice of the slice, for slice data errors.
    pub first_mb: Option<u32>,
    /// Address of the macroblock being parsed, for slice data errors.
    pub mb_addr: Option<u32>,
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} (NAL unit #{} type {} at byte {}, bit {} of its payload",
            self.kind, self.nal_index, self.nal_unit_type, self.byte_offset, self.bit_position
        )?;
        if let Some(m) = self.first_mb {
            write!(f, ", slice starting at macroblock {m}")?;
        }
        if let Some(m) = self.mb_addr {
            write!(f, ", macroblock {m}")?;
        }
        write!(f, ")")
    }
}

impl std::error::Error for Error {}
