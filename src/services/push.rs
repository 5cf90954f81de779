//! Sending metrics to a Prometheus Pushgateway: `PUT <URL>/metrics/job/<job>/<label>/<value>...`
//! over plain HTTP/1.1 (std's `TcpStream`; the load generator's client is asynchronous and
//! loopback-only).
//!
//! The Pushgateway's API: a PUT replaces every metric of its grouping key (job and labels), so
//! the group always holds the latest export. A value that is empty or holds characters other
//! than letters, digits, `_`, `.` and `-` goes base64url-encoded with `@base64` after its name.

use std::io::{Read, Write};
use std::net::{TcpStream, ToSocketAddrs};
use std::time::Duration;

use anyhow::{Context, Result, bail};

/// How long connecting, sending and the answer may each take.
const TIMEOUT: Duration = Duration::from_secs(10);
/// The most of an answer that is read (an error page is shown, not a whole site).
const MAX_ANSWER: u64 = 64 * 1024;

/// A `http://host[:port][/path]` URL, split.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HttpUrl {
    /// As given in the Host header: `host` or `host:port`.
    pub authority: String,
    pub host: String,
    pub port: u16,
    /// Without a trailing `/` (empty for the root).
    pub path: String,
}

/// Parses the Pushgateway's URL; anything but plain `http://` is refused with what to pass.
pub fn parse_http_url(url: &str) -> Result<HttpUrl> {
    let Some(rest) = url.strip_prefix("http://") else {
        bail!(
            "--push `{url}` is not an http:// URL; give the Pushgateway's address, such as \
             http://127.0.0.1:9091 (https is not supported: put a proxy in front if the gateway \
             needs it)"
        );
    };
    let (authority, path) = match rest.find('/') {
        Some(i) => (&rest[..i], &rest[i..]),
        None => (rest, ""),
    };
    let bad = |why: &str| anyhow::anyhow!("--push `{url}`: {why}; use http://HOST:PORT");
    if authority.is_empty() || authority.contains('@') {
        return Err(bad("it names no host"));
    }
    if path.contains(['?', '#']) {
        return Err(bad(
            "a query or fragment cannot be part of the gateway's address",
        ));
    }
    let (host, port) = if let Some(v6) = authority.strip_prefix('[') {
        let (host, after) = v6.split_once(']').ok_or_else(|| bad("an unclosed `[`"))?;
        (host.to_string(), after.strip_prefix(':'))
    } else {
        match authority.rsplit_once(':') {
            Some((h, p)) => (h.to_string(), Some(p)),
            None => (authority.to_string(), None),
        }
    };
    let port = match port {
        Some(p) => p
            .parse::<u16>()
            .map_err(|_| bad(&format!("`{p}` is not a port")))?,
        None => 80,
    };
    Ok(HttpUrl {
        authority: authority.to_string(),
        host,
        port,
        path: path.trim_end_matches('/').to_string(),
    })
}

/// The path of a grouping key under the gateway's base path.
pub fn grouping_path(base: &str, job: &str, grouping: &[(String, String)]) -> String {
    let mut path = format!("{base}/metrics/job{}", segment(job));
    for (label, value) in grouping {
        path.push('/');
        path.push_str(label);
        path.push_str(&segment(value));
    }
    path
}

/// `/value`, or `@base64/<base64url>` for a value a path segment cannot hold as it is.
fn segment(value: &str) -> String {
    let plain = !value.is_empty()
        && value
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b'-'))
        && value != "."
        && value != "..";
    if plain {
        format!("/{value}")
    } else {
        format!("@base64/{}", base64url(value.as_bytes()))
    }
}

/// Base64 with the URL-safe alphabet and `=` padding (RFC 4648 section 5), as the Pushgateway
/// decodes it.
fn base64url(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let b = [
            chunk[0],
            *chunk.get(1).unwrap_or(&0),
            *chunk.get(2).unwrap_or(&0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(ALPHABET[(n >> (18 - 6 * i) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

/// PUTs `body` (Prometheus text format) to the grouping key of `job` and `grouping` on the
/// gateway at `url`; an answer other than 2xx is an error showing its status and body.
pub fn push(url: &str, job: &str, grouping: &[(String, String)], body: &str) -> Result<String> {
    let parsed = parse_http_url(url)?;
    let path = grouping_path(&parsed.path, job, grouping);
    let shown = format!("http://{}{path}", parsed.authority);
    let addrs: Vec<_> = (parsed.host.as_str(), parsed.port)
        .to_socket_addrs()
        .with_context(|| format!("--push: cannot resolve `{}`", parsed.host))?
        .collect();
    let mut last_error = None;
    let mut stream = None;
    for addr in &addrs {
        match TcpStream::connect_timeout(addr, TIMEOUT) {
            Ok(s) => {
                stream = Some(s);
                break;
            }
            Err(e) => last_error = Some(e),
        }
    }
    let Some(mut stream) = stream else {
        let why = last_error.map_or_else(|| "no address".to_string(), |e| e.to_string());
        bail!(
            "cannot connect to the Pushgateway at {} ({why}); is it running, and is --push its \
             address?",
            parsed.authority
        );
    };
    stream.set_read_timeout(Some(TIMEOUT))?;
    stream.set_write_timeout(Some(TIMEOUT))?;
    let request = format!(
        "PUT {path} HTTP/1.1\r\nHost: {}\r\nUser-Agent: cargo-perf/{}\r\n\
         Content-Type: text/plain; version=0.0.4; charset=utf-8\r\nContent-Length: {}\r\n\
         Connection: close\r\n\r\n",
        parsed.authority,
        env!("CARGO_PKG_VERSION"),
        body.len()
    );
    stream
        .write_all(request.as_bytes())
        .and_then(|()| stream.write_all(body.as_bytes()))
        .with_context(|| format!("sending the metrics to {shown}"))?;
    let mut answer = Vec::new();
    (&mut stream)
        .take(MAX_ANSWER)
        .read_to_end(&mut answer)
        .with_context(|| format!("reading the Pushgateway's answer from {shown}"))?;
    let answer = String::from_utf8_lossy(&answer);
    let (head, answer_body) = answer.split_once("\r\n\r\n").unwrap_or((&answer, ""));
    let status_line = head.lines().next().unwrap_or("");
    let status: u16 = status_line
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .with_context(|| {
            format!("{shown} did not answer as an HTTP server does (`{status_line}`)")
        })?;
    if !(200..300).contains(&status) {
        bail!(
            "the Pushgateway refused the metrics: {shown} answered {}: {}",
            status_line.split_once(' ').map_or(status_line, |(_, s)| s),
            answer_body.trim()
        );
    }
    Ok(shown)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_are_split_and_anything_but_http_is_refused() {
        let u = parse_http_url("http://127.0.0.1:9091/").unwrap();
        assert_eq!(
            (u.host.as_str(), u.port, u.path.as_str()),
            ("127.0.0.1", 9091, "")
        );
        let u = parse_http_url("http://[::1]:8080/gw/base").unwrap();
        assert_eq!(
            (u.host.as_str(), u.port, u.path.as_str()),
            ("::1", 8080, "/gw/base")
        );
        assert_eq!(u.authority, "[::1]:8080");
        assert_eq!(parse_http_url("http://gateway").unwrap().port, 80);
        let e = parse_http_url("https://gw:9091").unwrap_err().to_string();
        assert!(e.contains("not an http:// URL"), "{e}");
        let e = parse_http_url("http://gw:99999").unwrap_err().to_string();
        assert!(e.contains("`99999` is not a port"), "{e}");
        assert!(parse_http_url("http:///metrics").is_err());
    }

    #[test]
    fn grouping_values_that_a_path_cannot_hold_go_base64() {
        assert_eq!(
            grouping_path("", "cargo-perf", &[("branch".into(), "main".into())]),
            "/metrics/job/cargo-perf/branch/main"
        );
        // Hand-encoded: "feat/x" is 66 65 61 74 2f 78 -> ZmVhdC94; "" -> "".
        assert_eq!(
            grouping_path(
                "/base",
                "j",
                &[
                    ("branch".into(), "feat/x".into()),
                    ("e".into(), String::new())
                ]
            ),
            "/base/metrics/job/j/branch@base64/ZmVhdC94/e@base64/"
        );
        assert_eq!(base64url(b"a"), "YQ==");
        assert_eq!(base64url(b"ab"), "YWI=");
        // 0xfb 0xff -> the URL-safe alphabet's `-` and `_`.
        assert_eq!(base64url(&[0xfb, 0xff]), "-_8=");
    }

    #[test]
    fn a_refusal_shows_the_gateways_status_and_body() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let server = std::thread::spawn(move || {
            let (mut s, _) = listener.accept().unwrap();
            s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
            let mut got = Vec::new();
            let mut buf = [0u8; 4096];
            // Read the head and the 6-byte body, then answer.
            while !String::from_utf8_lossy(&got).ends_with("x 1\n\n") {
                let n = s.read(&mut buf).unwrap();
                if n == 0 {
                    break;
                }
                got.extend_from_slice(&buf[..n]);
            }
            s.write_all(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 14\r\n\r\nbad metric x 1")
                .unwrap();
            String::from_utf8(got).unwrap()
        });
        let e = push(&format!("http://127.0.0.1:{port}"), "j", &[], "x 1\n\n")
            .unwrap_err()
            .to_string();
        let request = server.join().unwrap();
        assert!(
            request.starts_with("PUT /metrics/job/j HTTP/1.1\r\n"),
            "{request}"
        );
        assert!(
            e.contains("answered 400 Bad Request: bad metric x 1"),
            "{e}"
        );
    }
}
