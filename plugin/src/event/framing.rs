//! How a batch of bytes is cut into event lines, shared by the detector and by hosts that
//! check its contract (one output line per non-blank input line), so both count alike.
//!
//! A line ends at `\n`, `\r\n` or a lone `\r` (old Mac files and some syslog relays); the last
//! line's terminator is optional. A UTF-8 byte order mark at the start of a line is not part
//! of the event. A line that is then empty or only ASCII whitespace is blank: it produces no
//! output. A JSON object whose whitespace between tokens contains a raw `\r` is therefore
//! cut in two, and both parts come out as error records holding their bytes.

/// The UTF-8 byte order mark.
const BOM: &[u8] = b"\xEF\xBB\xBF";

/// The lines of `batch`, without their terminators.
pub fn lines(batch: &[u8]) -> Lines<'_> {
    Lines { rest: batch }
}

/// Iterator of [`lines`].
pub struct Lines<'a> {
    rest: &'a [u8],
}

impl<'a> Iterator for Lines<'a> {
    type Item = &'a [u8];

    fn next(&mut self) -> Option<&'a [u8]> {
        if self.rest.is_empty() {
            return None;
        }
        match memchr::memchr2(b'\n', b'\r', self.rest) {
            Some(i) => {
                let line = &self.rest[..i];
                let skip = if self.rest[i] == b'\r' && self.rest.get(i + 1) == Some(&b'\n') { 2 } else { 1 };
                self.rest = &self.rest[i + skip..];
                Some(line)
            }
            None => Some(std::mem::take(&mut self.rest)),
        }
    }
}

/// The event bytes of one line (without a leading byte order mark), or `None` if the line is
/// blank.
pub fn content(line: &[u8]) -> Option<&[u8]> {
    let line = line.strip_prefix(BOM).unwrap_or(line);
    (!line.iter().all(u8::is_ascii_whitespace)).then_some(line)
}

/// Non-blank lines in `batch`: the number of records a detector answers.
pub fn records(batch: &[u8]) -> usize {
    lines(batch).filter(|l| content(l).is_some()).count()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_line_ending_ends_a_line() {
        let got: Vec<&[u8]> = lines(b"a\nb\r\nc\rd").collect();
        assert_eq!(got, [&b"a"[..], b"b", b"c", b"d"]);
        let got: Vec<&[u8]> = lines(b"a\r\r\nb\n").collect();
        assert_eq!(got, [&b"a"[..], b"", b"b"]);
        assert_eq!(lines(b"").count(), 0);
        assert_eq!(lines(b"\n").count(), 1);
    }

    #[test]
    fn a_byte_order_mark_is_not_content_and_blank_lines_are_not_records() {
        assert_eq!(content(b"\xEF\xBB\xBF{}"), Some(&b"{}"[..]));
        assert_eq!(content(b"\xEF\xBB\xBF"), None);
        assert_eq!(content(b" \t"), None);
        assert_eq!(records(b"{}\n\n  \r{}\r\n\xEF\xBB\xBF\n{}"), 3);
    }
}
