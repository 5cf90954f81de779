//! Reading a child's standard output and error while it runs: non-blocking pipes split into
//! lines for a watcher (progress), with a bounded tail of standard error kept for failure
//! messages however much the child writes.

use std::io::Read;
use std::os::fd::{AsRawFd, RawFd};
use std::process::{ChildStderr, ChildStdout};

/// Which stream a line came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stream {
    Stdout,
    Stderr,
}

/// How much of standard error is kept.
pub(super) const TAIL_BYTES: usize = 4096;
/// A line longer than this is passed on in pieces (a child that never writes a newline).
const MAX_LINE: usize = 64 * 1024;

/// One pipe: its reader, the part of a line read so far.
struct Pipe<R> {
    reader: Option<R>,
    partial: Vec<u8>,
    stream: Stream,
}

/// The child's two pipes.
pub(super) struct Pipes {
    out: Pipe<ChildStdout>,
    err: Pipe<ChildStderr>,
    /// The last `TAIL_BYTES` of standard error.
    tail: Vec<u8>,
}

impl Pipes {
    pub(super) fn new(out: Option<ChildStdout>, err: Option<ChildStderr>) -> Self {
        for fd in [
            out.as_ref().map(AsRawFd::as_raw_fd),
            err.as_ref().map(AsRawFd::as_raw_fd),
        ]
        .into_iter()
        .flatten()
        {
            set_nonblocking(fd);
        }
        Pipes {
            out: Pipe {
                reader: out,
                partial: Vec::new(),
                stream: Stream::Stdout,
            },
            err: Pipe {
                reader: err,
                partial: Vec::new(),
                stream: Stream::Stderr,
            },
            tail: Vec::new(),
        }
    }

    /// The descriptors still open, to poll.
    pub(super) fn fds(&self) -> Vec<RawFd> {
        let mut fds = Vec::new();
        if let Some(r) = &self.out.reader {
            fds.push(r.as_raw_fd());
        }
        if let Some(r) = &self.err.reader {
            fds.push(r.as_raw_fd());
        }
        fds
    }

    /// Reads what is available on both pipes and passes complete lines to `on_line`.
    pub(super) fn read_available(&mut self, on_line: &mut dyn FnMut(Stream, &str)) {
        let tail = &mut self.tail;
        drain(&mut self.out, on_line, &mut |_| {});
        drain(&mut self.err, on_line, &mut |bytes| {
            tail.extend_from_slice(bytes);
            if tail.len() > 2 * TAIL_BYTES {
                tail.drain(..tail.len() - TAIL_BYTES);
            }
        });
    }

    /// After the child and everything it started are gone: reads what is left and passes on the
    /// last lines, even without a final newline.
    pub(super) fn finish(&mut self, on_line: &mut dyn FnMut(Stream, &str)) {
        self.read_available(on_line);
        for (partial, stream) in [
            (&mut self.out.partial, Stream::Stdout),
            (&mut self.err.partial, Stream::Stderr),
        ] {
            if !partial.is_empty() {
                on_line(stream, &String::from_utf8_lossy(partial));
                partial.clear();
            }
        }
    }

    /// The last lines of standard error (at most `TAIL_BYTES`, then at most `lines` lines).
    pub(super) fn stderr_tail(&self, lines: usize) -> String {
        let start = self.tail.len().saturating_sub(TAIL_BYTES);
        let text = String::from_utf8_lossy(&self.tail[start..]);
        let all: Vec<&str> = text.lines().collect();
        all[all.len().saturating_sub(lines)..].join("\n")
    }
}

/// Reads `pipe` until it would block or ends; `seen` gets every chunk read.
fn drain<R: Read>(
    pipe: &mut Pipe<R>,
    on_line: &mut dyn FnMut(Stream, &str),
    seen: &mut dyn FnMut(&[u8]),
) {
    let Some(reader) = pipe.reader.as_mut() else {
        return;
    };
    let mut buf = [0u8; 8192];
    loop {
        match reader.read(&mut buf) {
            Ok(0) => {
                pipe.reader = None;
                return;
            }
            Ok(n) => {
                seen(&buf[..n]);
                pipe.partial.extend_from_slice(&buf[..n]);
                while let Some(end) = pipe.partial.iter().position(|&b| b == b'\n') {
                    let line: Vec<u8> = pipe.partial.drain(..=end).collect();
                    let text = String::from_utf8_lossy(&line[..end]);
                    on_line(pipe.stream, text.trim_end_matches('\r'));
                }
                if pipe.partial.len() > MAX_LINE {
                    on_line(pipe.stream, &String::from_utf8_lossy(&pipe.partial));
                    pipe.partial.clear();
                }
            }
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            // WouldBlock: nothing more for now. Any other error: the pipe is unusable.
            Err(e) => {
                if e.kind() != std::io::ErrorKind::WouldBlock {
                    pipe.reader = None;
                }
                return;
            }
        }
    }
}

fn set_nonblocking(fd: RawFd) {
    // SAFETY: fcntl on a descriptor we own, with integer arguments.
    unsafe {
        let flags = libc::fcntl(fd, libc::F_GETFL);
        if flags >= 0 {
            libc::fcntl(fd, libc::F_SETFL, flags | libc::O_NONBLOCK);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::process::{Command, Stdio};

    #[test]
    fn lines_of_both_streams_arrive_and_the_tail_is_bounded() {
        let mut child = Command::new("sh")
            .args([
                "-c",
                "echo out1; echo err1 >&2; printf 'out2'; i=0; while [ $i -lt 3000 ]; do echo \"filler $i\" >&2; i=$((i+1)); done; echo last >&2",
            ])
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let mut pipes = Pipes::new(child.stdout.take(), child.stderr.take());
        let mut lines = Vec::new();
        let mut on_line = |s: Stream, l: &str| lines.push((s, l.to_owned()));
        while !pipes.fds().is_empty() {
            pipes.read_available(&mut on_line);
            std::thread::sleep(std::time::Duration::from_millis(5));
        }
        child.wait().unwrap();
        pipes.finish(&mut on_line);
        assert_eq!(lines[0], (Stream::Stdout, "out1".to_owned()));
        assert!(lines.contains(&(Stream::Stderr, "err1".to_owned())));
        // A last line without a newline still arrives.
        assert!(lines.contains(&(Stream::Stdout, "out2".to_owned())));
        assert_eq!(
            lines.iter().filter(|(s, _)| *s == Stream::Stderr).count(),
            3002
        );
        assert!(pipes.tail.len() <= 2 * TAIL_BYTES);
        let tail = pipes.stderr_tail(2);
        assert_eq!(tail, "filler 2999\nlast");
    }
}
