//! `malhost replay`: stream JSONL inputs through the module in batches.
//!
//! Memory is bounded by one batch (lines and bytes), one line (`max_line_bytes`) and the
//! journal of input since the last checkpoint ([`crate::runtime::JOURNAL_MAX_BYTES`]). Every
//! batch's output is checked before it is written (one answer per input line). When the module
//! fails on a batch (trap, time limit, memory limit, broken contract), the failure is reported
//! with the input's name and line numbers, the instance is re-created with the same config, the
//! state of the last checkpoint and the input since replayed (a snapshot taken every
//! `checkpoint_batches` batches, but not more often than keeps checkpointing under a tenth of
//! the time: a snapshot costs in proportion to the state, which can be large, not to the lines
//! since the last one; and at once when the journal fills), and the batch is retried line by
//! line: lines that fail again come out as error records (`error.type: malhost.guest_*`), the
//! others normally. A checkpoint that fails is handled the same way (the instance is replaced)
//! and the next one waits twice as long. Every input line comes out once; what could not be
//! kept (a line the module failed on, per-host state a recovery could not rebuild) is counted
//! in the summary, and the command then exits non-zero.

use std::io::{self, BufRead, Write};

use anyhow::{Result, anyhow};

use crate::runtime::Guest;

/// Batching and input limits.
#[derive(Clone, Copy, Debug)]
pub struct ReplayOptions {
    /// Lines per call.
    pub batch_lines: usize,
    /// Bytes per call (a batch ends at whichever comes first).
    pub batch_bytes: usize,
    /// Longer lines are cut here by the host and come out as error records.
    pub max_line_bytes: usize,
    /// Snapshot the module's state every this many batches (0: never), so that a recovery
    /// after a failure restores it instead of starting from empty state; a checkpoint is
    /// skipped while less than ten times the last one's duration has passed since it.
    pub checkpoint_batches: u64,
    /// Sample the module's memory and counters every this many lines (0: never), at the end
    /// of the batch that crosses the mark, and once at the end (soak runs).
    pub sample_every: u64,
}

impl ReplaySummary {
    /// Whether something was not kept: a line written as an error record because the module
    /// failed on it, or per-host state lost.
    pub fn degraded(&self) -> bool {
        self.failed_lines > 0 || self.state_losses > 0
    }
}

impl Default for ReplayOptions {
    fn default() -> Self {
        ReplayOptions { batch_lines: 128, batch_bytes: 1 << 20, max_line_bytes: 64 << 20, checkpoint_batches: 256, sample_every: 0 }
    }
}

/// One input stream with a name for messages.
pub struct Input {
    /// File name, or `-` for stdin.
    pub name: String,
    /// The stream.
    pub reader: Box<dyn BufRead>,
}

/// What happened during a replay.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ReplaySummary {
    /// Input lines read.
    pub lines: u64,
    /// Lines written as error records because the module failed on them.
    pub failed_lines: u64,
    /// Batches on which the module failed.
    pub failed_batches: u64,
    /// Checkpoints that failed (the instance was replaced each time).
    pub failed_checkpoints: u64,
    /// Recoveries that could not rebuild the per-host state.
    pub state_losses: u64,
    /// Samples taken (see [`ReplayOptions::sample_every`]).
    pub samples: Vec<crate::soak::Sample>,
    /// What the module's output said: alerts per rule and host, lines that were not JSON.
    pub tally: crate::tally::Tally,
}

/// Lines collected for one call into the module.
pub(crate) struct Batch {
    pub(crate) bytes: Vec<u8>,
    pub(crate) first_line: u64,
    pub(crate) lines: usize,
}

/// Replays `inputs` through `guest`, writing output lines to `out`, then flushes the module.
/// `log` receives one message per failure.
pub fn replay(
    guest: &mut Guest,
    inputs: Vec<Input>,
    out: &mut dyn Write,
    opts: &ReplayOptions,
    log: &mut dyn FnMut(String),
) -> Result<ReplaySummary> {
    let mut summary = ReplaySummary::default();
    let mut line = Vec::new();
    let mut batches = 0u64;
    let started = std::time::Instant::now();
    // When the last checkpoint ended, and how long it took.
    let mut last_checkpoint = (started, std::time::Duration::ZERO);
    let mut next_sample = opts.sample_every;
    // Doubles after each failed checkpoint.
    let mut checkpoint_backoff = 1u64;
    let take_sample = |guest: &mut Guest, lines: u64, samples: &mut Vec<crate::soak::Sample>| {
        let stats = guest.stats().unwrap_or_default();
        let ms = started.elapsed().as_millis() as u64;
        samples.push(crate::soak::sample(lines, ms, guest.memory_bytes() as u64, &stats));
    };
    if opts.sample_every > 0 {
        take_sample(guest, 0, &mut summary.samples);
    }
    for mut input in inputs {
        let mut batch = Batch { bytes: Vec::new(), first_line: 1, lines: 0 };
        let mut line_no = 0u64;
        loop {
            let read = read_line_limited(&mut *input.reader, &mut line, opts.max_line_bytes)
                .map_err(|e| anyhow!("cannot read {} after line {line_no}: {e}", input.name))?;
            let Some(overflowed) = read else { break };
            line_no += 1;
            summary.lines += 1;
            if batch.lines == 0 {
                batch.first_line = line_no;
            }
            if overflowed {
                run_batch(guest, &mut batch, &input.name, out, log, &mut summary)?;
                let msg = format!(
                    "{}:{line_no}: line longer than {} bytes; `message` holds its first {} bytes",
                    input.name, opts.max_line_bytes, opts.max_line_bytes
                );
                log(msg.clone());
                let mut rec = Vec::new();
                malhost::output::write_input_error(&mut rec, &line, "malhost.input", &msg);
                out.write_all(&rec)?;
                continue;
            }
            batch.bytes.extend_from_slice(&line);
            if batch.bytes.last() != Some(&b'\n') {
                batch.bytes.push(b'\n');
            }
            batch.lines += 1;
            if batch.lines >= opts.batch_lines || batch.bytes.len() >= opts.batch_bytes {
                run_batch(guest, &mut batch, &input.name, out, log, &mut summary)?;
                batches += 1;
                if opts.sample_every > 0 && summary.lines >= next_sample {
                    take_sample(guest, summary.lines, &mut summary.samples);
                    next_sample = summary.lines + opts.sample_every;
                }
                let due = opts.checkpoint_batches > 0
                    && batches % (opts.checkpoint_batches * checkpoint_backoff) == 0
                    && last_checkpoint.0.elapsed() >= last_checkpoint.1 * 10;
                if due || (opts.checkpoint_batches > 0 && guest.journal_full()) {
                    let t = std::time::Instant::now();
                    let result = guest.checkpoint();
                    last_checkpoint = (std::time::Instant::now(), t.elapsed());
                    if let Err(e) = result {
                        summary.failed_checkpoints += 1;
                        checkpoint_backoff = checkpoint_backoff.saturating_mul(2);
                        log(format!("{}: checkpoint after line {line_no} failed: {e}; re-creating the instance", input.name));
                        recover(guest, log, &mut summary)?;
                    }
                }
            }
        }
        run_batch(guest, &mut batch, &input.name, out, log, &mut summary)?;
    }
    if opts.sample_every > 0 {
        take_sample(guest, summary.lines, &mut summary.samples);
    }
    finish(guest, out, log, &mut summary)?;
    Ok(summary)
}

/// End of input: the module's held-back lines, then the output flushed. A failed flush
/// replaces the instance (so that a snapshot can still be taken) and counts as lost state.
pub(crate) fn finish(guest: &mut Guest, out: &mut dyn Write, log: &mut dyn FnMut(String), summary: &mut ReplaySummary) -> Result<()> {
    match guest.flush() {
        Ok(tail) => {
            summary.tally.add(&tail);
            out.write_all(&tail)?
        }
        Err(e) => {
            log(format!("flush at end of input failed: {e}; lines the module held back are lost"));
            summary.state_losses += 1;
            recover(guest, log, summary)?;
        }
    }
    out.flush()?;
    Ok(())
}

/// Replaces a failed instance, logging and counting what could not be rebuilt.
pub(crate) fn recover(guest: &mut Guest, log: &mut dyn FnMut(String), summary: &mut ReplaySummary) -> Result<()> {
    if let crate::runtime::Recovery::StateLost(why) = guest.recover()? {
        summary.state_losses += 1;
        log(why);
    }
    Ok(())
}

pub(crate) fn run_batch(
    guest: &mut Guest,
    batch: &mut Batch,
    name: &str,
    out: &mut dyn Write,
    log: &mut dyn FnMut(String),
    summary: &mut ReplaySummary,
) -> Result<()> {
    if batch.lines == 0 {
        return Ok(());
    }
    let mut write_err: Option<io::Error> = None;
    let tally = &mut summary.tally;
    let result = guest.process_checked(&batch.bytes, &mut |o| {
        tally.add(o);
        if write_err.is_none() {
            if let Err(e) = out.write_all(o) {
                write_err = Some(e);
            }
        }
    });
    if let Some(e) = write_err {
        return Err(e.into());
    }
    if let Err(failure) = result {
        summary.failed_batches += 1;
        let last = batch.first_line + batch.lines as u64 - 1;
        if failure.instance_intact() {
            log(format!("{name}:{}-{last}: {failure}; retrying line by line", batch.first_line));
        } else {
            log(format!("{name}:{}-{last}: {failure}; re-creating the instance and retrying line by line", batch.first_line));
            recover(guest, log, summary)?;
        }
        let mut one = Vec::new();
        for (i, line) in batch.bytes.split(|&b| b == b'\n').take(batch.lines).enumerate() {
            let line_no = batch.first_line + i as u64;
            one.clear();
            one.extend_from_slice(line);
            one.push(b'\n');
            match guest.process(&one) {
                Ok(o) => {
                    summary.tally.add(&o);
                    out.write_all(&o)?
                }
                Err(f) => {
                    if malhost::event::framing::records(&one) == 0 {
                        // A blank line has no answer to lose.
                        if !f.instance_intact() {
                            recover(guest, log, summary)?;
                        }
                        continue;
                    }
                    summary.failed_lines += 1;
                    log(format!("{name}:{line_no}: {f}; written as an error record"));
                    let mut rec = Vec::new();
                    malhost::output::write_input_error(&mut rec, line, f.error_type(), &format!("{name}:{line_no}: {f}"));
                    out.write_all(&rec)?;
                    if !f.instance_intact() {
                        recover(guest, log, summary)?;
                    }
                }
            }
        }
    }
    batch.bytes.clear();
    batch.lines = 0;
    Ok(())
}

/// Reads one line into `buf`, its terminator (`\n`, `\r\n` or a lone `\r`, as
/// [`malhost::event::framing`] cuts lines) written as `\n`. `Ok(None)` at end of input,
/// `Ok(Some(true))` when the line was longer than `limit`: `buf` then holds its first `limit`
/// bytes and the rest of the line has been consumed. A line of white space only comes back as a
/// blank line (`\n`), whatever its length: it is not a record.
pub fn read_line_limited(r: &mut dyn BufRead, buf: &mut Vec<u8>, limit: usize) -> io::Result<Option<bool>> {
    buf.clear();
    let mut read_any = false;
    let mut overflowed = false;
    // A line of white space only is blank however long it is: no record, so no error record.
    let mut blank = true;
    loop {
        let avail = r.fill_buf()?;
        if avail.is_empty() {
            break;
        }
        read_any = true;
        let (content, end) = match memchr::memchr2(b'\n', b'\r', avail) {
            Some(i) => (&avail[..i], Some((i, avail[i]))),
            None => (avail, None),
        };
        blank = blank && content.iter().all(u8::is_ascii_whitespace);
        let room = limit.saturating_sub(buf.len());
        if content.len() > room {
            overflowed = true;
        }
        buf.extend_from_slice(&content[..content.len().min(room)]);
        match end {
            Some((i, term)) => {
                r.consume(i + 1);
                if term == b'\r' && r.fill_buf()?.first() == Some(&b'\n') {
                    r.consume(1);
                }
                if !overflowed {
                    buf.push(b'\n');
                }
                break;
            }
            None => {
                let n = avail.len();
                r.consume(n);
            }
        }
    }
    if !read_any {
        return Ok(None);
    }
    if overflowed && blank {
        buf.clear();
        buf.push(b'\n');
        return Ok(Some(false));
    }
    Ok(Some(overflowed))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_lines_are_cut_and_the_rest_skipped() {
        let data = b"short\nthis line is long\nnext\nlast-no-newline";
        let mut r: &[u8] = data;
        let mut buf = Vec::new();
        assert_eq!(read_line_limited(&mut r, &mut buf, 8).unwrap(), Some(false));
        assert_eq!(buf, b"short\n");
        assert_eq!(read_line_limited(&mut r, &mut buf, 8).unwrap(), Some(true));
        assert_eq!(buf, b"this lin");
        assert_eq!(read_line_limited(&mut r, &mut buf, 8).unwrap(), Some(false));
        assert_eq!(buf, b"next\n");
        assert_eq!(read_line_limited(&mut r, &mut buf, 100).unwrap(), Some(false));
        assert_eq!(buf, b"last-no-newline");
        assert_eq!(read_line_limited(&mut r, &mut buf, 100).unwrap(), None);
    }

    #[test]
    fn a_long_line_of_white_space_is_blank_not_too_long() {
        let data = format!("{}\nnext\n", " \t".repeat(50));
        let mut r: &[u8] = data.as_bytes();
        let mut buf = Vec::new();
        assert_eq!(read_line_limited(&mut r, &mut buf, 8).unwrap(), Some(false));
        assert_eq!(buf, b"\n");
        assert_eq!(read_line_limited(&mut r, &mut buf, 8).unwrap(), Some(false));
        assert_eq!(buf, b"next\n");
    }

    #[test]
    fn carriage_returns_end_lines_too() {
        let mut r = io::BufReader::with_capacity(3, &b"a\rbb\r\ncc\r"[..]);
        let mut buf = Vec::new();
        let mut got = Vec::new();
        while read_line_limited(&mut r, &mut buf, 100).unwrap().is_some() {
            got.push(String::from_utf8(buf.clone()).unwrap());
        }
        assert_eq!(got, ["a\n", "bb\n", "cc\n"], "a CRLF split across buffer refills is one terminator");
    }
}
