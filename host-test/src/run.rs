//! `malhost run`: a long-running filter, standard input to standard output, for pipe-based
//! pipelines (rsyslog `omprog`/`mmexternal`, Logstash `pipe`, shell pipelines).
//!
//! A reader thread reads lines; the main loop takes whatever has arrived (up to a batch),
//! runs it through the module and flushes standard output at once, so an event never waits
//! for more input (low latency when quiet, batches under load). On end of input, or on
//! SIGTERM / SIGINT / SIGHUP, the lines already read are processed, the module is flushed,
//! standard output is flushed and the process exits 0. Failures of the module are handled as
//! in `replay` (recover, retry line by line, error records).

use std::io::{BufRead, Write};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{self, RecvTimeoutError, TryRecvError};
use std::time::Duration;

use anyhow::Result;

use crate::replay::{Batch, ReplayOptions, ReplaySummary, finish, read_line_limited, run_batch};
use crate::runtime::Guest;

/// How often the loop looks at the stop flag while input is quiet.
const POLL: Duration = Duration::from_millis(100);

/// Runs until end of input or until `stop` is set.
pub fn run(
    guest: &mut Guest,
    input: Box<dyn BufRead + Send>,
    out: &mut dyn Write,
    opts: &ReplayOptions,
    stop: Arc<AtomicBool>,
    log: &mut dyn FnMut(String),
) -> Result<ReplaySummary> {
    let (tx, rx) = mpsc::sync_channel::<(Vec<u8>, bool)>(opts.batch_lines.max(1) * 4);
    let limit = opts.max_line_bytes;
    let reader = std::thread::spawn(move || -> std::io::Result<()> {
        let mut input = input;
        loop {
            let mut line = Vec::new();
            match read_line_limited(&mut *input, &mut line, limit)? {
                None => return Ok(()),
                Some(overflowed) => {
                    if tx.send((line, overflowed)).is_err() {
                        return Ok(());
                    }
                }
            }
        }
    });
    let mut summary = ReplaySummary::default();
    let mut batch = Batch { bytes: Vec::new(), first_line: 1, lines: 0 };
    let mut line_no = 0u64;
    let name = "<stdin>";
    let mut eof = false;
    while !eof {
        let first = if stop.load(Ordering::SeqCst) {
            match rx.try_recv() {
                Ok(item) => item,
                Err(_) => break,
            }
        } else {
            match rx.recv_timeout(POLL) {
                Ok(item) => item,
                Err(RecvTimeoutError::Timeout) => continue,
                Err(RecvTimeoutError::Disconnected) => break,
            }
        };
        let mut next = Some(first);
        while let Some((line, overflowed)) = next.take() {
            line_no += 1;
            summary.lines += 1;
            if batch.lines == 0 {
                batch.first_line = line_no;
            }
            if overflowed {
                run_batch(guest, &mut batch, name, out, log, &mut summary)?;
                let msg = format!("{name}:{line_no}: line longer than {limit} bytes; `message` holds its first {limit} bytes");
                log(msg.clone());
                let mut rec = Vec::new();
                malhost::output::write_input_error(&mut rec, &line, "malhost.input", &msg);
                out.write_all(&rec)?;
            } else {
                batch.bytes.extend_from_slice(&line);
                if batch.bytes.last() != Some(&b'\n') {
                    batch.bytes.push(b'\n');
                }
                batch.lines += 1;
            }
            if batch.lines >= opts.batch_lines || batch.bytes.len() >= opts.batch_bytes {
                break;
            }
            match rx.try_recv() {
                Ok(item) => next = Some(item),
                Err(TryRecvError::Empty) => {}
                Err(TryRecvError::Disconnected) => eof = true,
            }
        }
        run_batch(guest, &mut batch, name, out, log, &mut summary)?;
        out.flush()?;
    }
    run_batch(guest, &mut batch, name, out, log, &mut summary)?;
    finish(guest, out, log, &mut summary)?;
    if !stop.load(Ordering::SeqCst) {
        if let Ok(Err(e)) = reader.join() {
            log(format!("cannot read {name} after line {line_no}: {e}"));
        }
    }
    Ok(summary)
}
