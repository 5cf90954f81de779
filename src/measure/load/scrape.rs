//! Scraping a service's Prometheus metrics during a load run: once before the first request,
//! every second while the load runs, and once after the last; the figures come from the first
//! and the last scrape that answered (`stats::exposition::between`).

use std::io::{Read, Write};
use std::net::{TcpStream, ToSocketAddrs};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crate::stats::exposition::{Scrape, between, parse};
use crate::vocab::service_metrics::ServiceMetrics;

/// How long one scrape may take, connecting included.
const TIMEOUT: Duration = Duration::from_secs(2);
/// Between scrapes while the load runs.
const INTERVAL: Duration = Duration::from_secs(1);
/// The most of an answer read: a service's metrics are rarely more than a few hundred KiB.
const MAX_BYTES: u64 = 8 << 20;
/// Series of each type kept in a record, so that a service with thousands stays small.
const MAX_SERIES: usize = 100;

/// A scrape and when it was taken.
type Taken = (Instant, Scrape);

/// Scrapes in the background until `finish`.
pub struct Scraper {
    url: String,
    first: Option<Taken>,
    latest: Arc<Mutex<Option<Taken>>>,
    errors: Arc<Mutex<Vec<String>>>,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl Scraper {
    /// Takes the first scrape now, then one every second.
    pub fn start(url: &str) -> Scraper {
        let errors = Arc::new(Mutex::new(Vec::new()));
        let first = match scrape(url) {
            Ok(s) => Some((Instant::now(), s)),
            Err(e) => {
                push(&errors, format!("the scrape before the load: {e}"));
                None
            }
        };
        let latest = Arc::new(Mutex::new(None));
        let stop = Arc::new(AtomicBool::new(false));
        let thread = {
            let (url, latest, errors, stop) = (
                url.to_string(),
                Arc::clone(&latest),
                Arc::clone(&errors),
                Arc::clone(&stop),
            );
            std::thread::Builder::new()
                .name("metrics-scraper".into())
                .spawn(move || {
                    let mut next = Instant::now() + INTERVAL;
                    while !stop.load(Ordering::Acquire) {
                        // Sleep in short steps so that `finish` does not wait a whole interval.
                        if Instant::now() < next {
                            std::thread::sleep(Duration::from_millis(20));
                            continue;
                        }
                        next += INTERVAL;
                        match scrape(&url) {
                            Ok(s) => {
                                if let Ok(mut l) = latest.lock() {
                                    *l = Some((Instant::now(), s));
                                }
                            }
                            Err(e) => push(&errors, format!("a scrape during the load: {e}")),
                        }
                    }
                })
                .ok()
        };
        Scraper {
            url: url.to_string(),
            first,
            latest,
            errors,
            stop,
            thread,
        }
    }

    /// Takes the last scrape and gives the figures between the first and the last that
    /// answered.
    pub fn finish(mut self) -> ServiceMetrics {
        self.stop.store(true, Ordering::Release);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
        let last = match scrape(&self.url) {
            Ok(s) => Some((Instant::now(), s)),
            Err(e) => {
                push(&self.errors, format!("the scrape after the load: {e}"));
                self.latest.lock().ok().and_then(|mut l| l.take())
            }
        };
        let mut warnings = self.errors.lock().map(|e| e.clone()).unwrap_or_default();
        let mut metrics = ServiceMetrics {
            url: self.url.clone(),
            ..ServiceMetrics::default()
        };
        match (self.first.take(), last) {
            (Some((t0, first)), Some((t1, last))) => {
                let seconds = t1.duration_since(t0).as_secs_f64();
                let (mut h, mut c, mut g) = between(&first, &last, seconds);
                for (what, len) in [
                    ("histograms", h.len()),
                    ("counters", c.len()),
                    ("gauges", g.len()),
                ] {
                    if len > MAX_SERIES {
                        warnings.push(format!(
                            "the service has {len} {what}; the first {MAX_SERIES} by name are kept"
                        ));
                    }
                }
                h.truncate(MAX_SERIES);
                c.truncate(MAX_SERIES);
                g.truncate(MAX_SERIES);
                metrics.scrapes = 2;
                metrics.seconds = seconds;
                metrics.histograms = h;
                metrics.counters = c;
                metrics.gauges = g;
            }
            _ => warnings.push(format!(
                "no figures of the service: {} did not answer both before and after the load",
                self.url
            )),
        }
        metrics.warnings = warnings;
        metrics
    }
}

impl Drop for Scraper {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Release);
    }
}

/// Keeps the first few errors: a service that stopped answering would fill a record otherwise.
fn push(errors: &Mutex<Vec<String>>, e: String) {
    if let Ok(mut all) = errors.lock()
        && all.len() < 5
    {
        all.push(e);
    }
}

fn scrape(url: &str) -> Result<Scrape, String> {
    let text = get(url)?;
    parse(&text).map_err(|e| format!("{url} is not in the Prometheus text format ({e})"))
}

/// A GET over HTTP/1.0 (so the answer is neither chunked nor kept alive) of a loopback `url`.
fn get(url: &str) -> Result<String, String> {
    let rest = url
        .strip_prefix("http://")
        .ok_or_else(|| format!("{url} is not an http:// URL"))?;
    let (authority, path) = match rest.find('/') {
        Some(i) => (&rest[..i], &rest[i..]),
        None => (rest, "/"),
    };
    let addr = authority
        .to_socket_addrs()
        .or_else(|_| (authority, 80).to_socket_addrs())
        .map_err(|e| format!("{url}: {e}"))?
        .next()
        .ok_or_else(|| format!("{url}: no address"))?;
    let mut s = TcpStream::connect_timeout(&addr, TIMEOUT).map_err(|e| format!("{url}: {e}"))?;
    let deadline = Instant::now() + TIMEOUT;
    s.set_read_timeout(Some(TIMEOUT))
        .map_err(|e| e.to_string())?;
    s.set_write_timeout(Some(TIMEOUT))
        .map_err(|e| e.to_string())?;
    write!(
        s,
        "GET {path} HTTP/1.0\r\nHost: {authority}\r\nAccept: text/plain;version=0.0.4\r\n\
         Accept-Encoding: identity\r\nConnection: close\r\nUser-Agent: cargo-perf/{}\r\n\r\n",
        env!("CARGO_PKG_VERSION")
    )
    .map_err(|e| format!("{url}: {e}"))?;
    let mut answer = Vec::new();
    let mut buf = [0u8; 16 * 1024];
    let mut reader = (&mut s).take(MAX_BYTES);
    loop {
        if Instant::now() > deadline {
            return Err(format!(
                "{url} took more than {}s to answer",
                TIMEOUT.as_secs()
            ));
        }
        match reader.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => answer.extend_from_slice(&buf[..n]),
            Err(e) => return Err(format!("{url}: {e}")),
        }
        // A server that keeps the connection open anyway is done once its body is whole.
        if complete(&answer) {
            break;
        }
    }
    let answer = String::from_utf8_lossy(&answer);
    let (head, body) = answer
        .split_once("\r\n\r\n")
        .ok_or_else(|| format!("{url} did not answer as an HTTP server does"))?;
    let status = head.split_whitespace().nth(1).unwrap_or("");
    if !status.starts_with('2') {
        return Err(format!(
            "{url} answered {}",
            head.lines().next().unwrap_or("").trim()
        ));
    }
    Ok(body.to_string())
}

/// Whether `answer` holds its head and as many body bytes as its `Content-Length` says.
fn complete(answer: &[u8]) -> bool {
    let Some(end) = answer.windows(4).position(|w| w == b"\r\n\r\n") else {
        return false;
    };
    let head = String::from_utf8_lossy(&answer[..end]).to_ascii_lowercase();
    head.lines()
        .find_map(|l| l.strip_prefix("content-length:"))
        .and_then(|v| v.trim().parse::<usize>().ok())
        .is_some_and(|length| answer.len() >= end + 4 + length)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_answer_is_whole_when_its_content_length_has_arrived() {
        assert!(!complete(b"HTTP/1.1 200 OK\r\nContent-Length: 3\r\n"));
        assert!(!complete(b"HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nab"));
        assert!(complete(b"HTTP/1.1 200 OK\r\ncontent-length: 3\r\n\r\nabc"));
        // Without a length, only the end of the connection ends it.
        assert!(!complete(b"HTTP/1.0 200 OK\r\n\r\nabc"));
    }

    #[test]
    fn a_service_that_never_answers_gives_warnings_not_figures() {
        // A port nothing listens on: bound, then closed.
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let url = format!("http://127.0.0.1:{port}/metrics");
        let m = Scraper::start(&url).finish();
        assert_eq!(m.scrapes, 0);
        assert!(m.histograms.is_empty());
        assert!(
            m.warnings.iter().any(|w| w.contains("did not answer both")),
            "{:?}",
            m.warnings
        );
    }
}
