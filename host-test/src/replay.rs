//! `malhost replay`: stream JSONL inputs through the module in batches.
//!
//! Memory is bounded by one batch (lines and bytes) and one line (`max_line_bytes`). When the
//! module fails on a batch (trap, time limit, memory limit), the failure is reported with the
//! input's name and line numbers, the instance is re-created with the same config and the
//! state of the last checkpoint (a snapshot taken every `checkpoint_batches` batches, but not
//! more often than keeps checkpointing under a tenth of the time: a snapshot costs in proportion
//! to the state, which can be large, not to the lines since the last one), and the
//! batch is replayed line by line: lines that fail again come out as error records
//! (`error.type: malhost.guest`), the others normally. Every input line comes out once.

use std::io::{self, BufRead, Write};

use anyhow::{Result, anyhow};

use crate::runtime::{Guest, GuestFailure};

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
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ReplaySummary {
    /// Input lines read.
    pub lines: u64,
    /// Lines written as error records because the module failed on them.
    pub failed_lines: u64,
    /// Batches on which the module failed.
    pub failed_batches: u64,
    /// Samples taken (see [`ReplayOptions::sample_every`]).
    pub samples: Vec<crate::soak::Sample>,
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
                if opts.checkpoint_batches > 0
                    && batches % opts.checkpoint_batches == 0
                    && last_checkpoint.0.elapsed() >= last_checkpoint.1 * 10
                {
                    let t = std::time::Instant::now();
                    let result = guest.checkpoint();
                    last_checkpoint = (std::time::Instant::now(), t.elapsed());
                    if let Err(e) = result {
                        log(format!("{}: checkpoint after line {line_no} failed: {e}", input.name));
                    }
                }
            }
        }
        run_batch(guest, &mut batch, &input.name, out, log, &mut summary)?;
    }
    if opts.sample_every > 0 {
        take_sample(guest, summary.lines, &mut summary.samples);
    }
    match guest.flush() {
        Ok(tail) => out.write_all(&tail)?,
        Err(e) => log(format!("flush at end of input failed: {e}")),
    }
    out.flush()?;
    Ok(summary)
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
    let result = guest.process_into(&batch.bytes, &mut |o| {
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
        log(format!(
            "{name}:{}-{last}: {failure}; re-creating the instance (per-host state is lost) and retrying line by line",
            batch.first_line
        ));
        guest.recover()?;
        let mut one = Vec::new();
        for (i, line) in batch.bytes.split(|&b| b == b'\n').take(batch.lines).enumerate() {
            let line_no = batch.first_line + i as u64;
            one.clear();
            one.extend_from_slice(line);
            one.push(b'\n');
            match guest.process(&one) {
                Ok(o) => out.write_all(&o)?,
                Err(f) => {
                    summary.failed_lines += 1;
                    log(format!("{name}:{line_no}: {f}; written as an error record"));
                    let mut rec = Vec::new();
                    let kind = match f {
                        GuestFailure::Timeout(_) => "malhost.guest_timeout",
                        GuestFailure::OutOfMemory(_) => "malhost.guest_memory",
                        _ => "malhost.guest_trap",
                    };
                    malhost::output::write_input_error(&mut rec, line, kind, &format!("{name}:{line_no}: {f}"));
                    out.write_all(&rec)?;
                    guest.recover()?;
                }
            }
        }
    }
    batch.bytes.clear();
    batch.lines = 0;
    Ok(())
}

/// Reads one line (with its `\n`) into `buf`. `Ok(None)` at end of input, `Ok(Some(true))`
/// when the line was longer than `limit`: `buf` then holds its first `limit` bytes and the
/// rest of the line has been consumed.
pub fn read_line_limited(r: &mut dyn BufRead, buf: &mut Vec<u8>, limit: usize) -> io::Result<Option<bool>> {
    buf.clear();
    let n = io::Read::take(&mut *r, limit as u64 + 1).read_until(b'\n', buf)?;
    if n == 0 {
        return Ok(None);
    }
    if buf.last() == Some(&b'\n') || n <= limit {
        return Ok(Some(false));
    }
    loop {
        let avail = r.fill_buf()?;
        if avail.is_empty() {
            break;
        }
        if let Some(i) = avail.iter().position(|&b| b == b'\n') {
            r.consume(i + 1);
            break;
        }
        let l = avail.len();
        r.consume(l);
    }
    buf.truncate(limit);
    Ok(Some(true))
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
}
