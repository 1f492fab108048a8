//! What an upstream's HTTP/2 server preface says about the request headers
//! it accepts: its `SETTINGS_MAX_HEADER_LIST_SIZE` (RFC 9113 §6.5.2).
//!
//! h2's client neither exposes nor enforces the peer's setting: it sends
//! whatever it is given, and a server refuses a header list over its limit
//! with a bare HTTP 431 (tonic, hyper: 16 KiB by default) or, far over it,
//! by closing the whole connection. So the connection's reads pass through
//! [`PrefaceReader`], which parses the SETTINGS frame every server must send
//! first and reports the setting, letting calls be checked before they are
//! sent. Later SETTINGS frames are not read: servers state this limit once.
//! A server that does not state it (grpc-go by default, which then takes up
//! to 16 MiB) has no limit the gateway knows of.

use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::sync::oneshot;

/// The frame type of SETTINGS.
const SETTINGS: u8 = 0x4;
/// The identifier of SETTINGS_MAX_HEADER_LIST_SIZE.
const MAX_HEADER_LIST_SIZE: u16 = 0x6;

/// What the first frame the server sent says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Preface {
    /// A SETTINGS frame; its `SETTINGS_MAX_HEADER_LIST_SIZE`, if given.
    Settings {
        /// The largest header list the server accepts, in RFC 7541 §4.1
        /// bytes (name + value + 32 per field); `None`: no limit stated.
        max_header_list_size: Option<u32>,
    },
    /// Something else: not an HTTP/2 server (h2 fails the connection).
    NotSettings,
}

/// Reads the first frame's bytes as they arrive.
#[derive(Debug, Default)]
struct Parser {
    /// The 9-byte frame header, once whole.
    header: Vec<u8>,
    /// Payload bytes still to come.
    remaining: usize,
    /// The setting being read (6 bytes: identifier, value).
    entry: Vec<u8>,
    /// The limit stated so far (the last one wins).
    max_header_list_size: Option<u32>,
}

impl Parser {
    /// Takes `bytes` read from the server; `Some` once the first frame is
    /// read (bytes after it are not looked at).
    fn feed(&mut self, mut bytes: &[u8]) -> Option<Preface> {
        if self.header.len() < 9 {
            let take = (9 - self.header.len()).min(bytes.len());
            self.header.extend_from_slice(&bytes[..take]);
            bytes = &bytes[take..];
            if self.header.len() < 9 {
                return None;
            }
            if self.header[3] != SETTINGS {
                return Some(Preface::NotSettings);
            }
            let h = &self.header;
            self.remaining = usize::from(h[0]) << 16 | usize::from(h[1]) << 8 | usize::from(h[2]);
        }
        let take = self.remaining.min(bytes.len());
        for &byte in &bytes[..take] {
            self.entry.push(byte);
            if self.entry.len() == 6 {
                let id = u16::from_be_bytes([self.entry[0], self.entry[1]]);
                if id == MAX_HEADER_LIST_SIZE {
                    let e = &self.entry;
                    self.max_header_list_size = Some(u32::from_be_bytes([e[2], e[3], e[4], e[5]]));
                }
                self.entry.clear();
            }
        }
        self.remaining -= take;
        (self.remaining == 0).then_some(Preface::Settings {
            max_header_list_size: self.max_header_list_size,
        })
    }
}

/// The server's first frame, or why the connection failed before it (a
/// read error, such as the TLS alert of a refused client certificate).
pub(super) type Told = Result<Preface, String>;

/// An upstream connection's I/O that reports the server's first frame on
/// `told` and is otherwise transparent.
pub(super) struct PrefaceReader<T> {
    io: T,
    parser: Parser,
    told: Option<oneshot::Sender<Told>>,
}

impl<T> PrefaceReader<T> {
    /// Wraps `io`; the receiver gets the preface once it is read, or the
    /// read error before it, and is dropped when the connection ends first.
    pub(super) fn new(io: T) -> (PrefaceReader<T>, oneshot::Receiver<Told>) {
        let (tell, told) = oneshot::channel();
        let reader = PrefaceReader {
            io,
            parser: Parser::default(),
            told: Some(tell),
        };
        (reader, told)
    }
}

impl<T: AsyncRead + Unpin> AsyncRead for PrefaceReader<T> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let before = buf.filled().len();
        let polled = Pin::new(&mut self.io).poll_read(cx, buf);
        if self.told.is_some() {
            let this = &mut *self;
            let told = match &polled {
                Poll::Ready(Err(e)) => Some(Err(with_causes(e))),
                _ => this.parser.feed(&buf.filled()[before..]).map(Ok),
            };
            if let Some(told) = told {
                if let Some(tell) = this.told.take() {
                    let _ = tell.send(told);
                }
            }
        }
        polled
    }
}

/// `error` and each of its causes, joined by `: `.
fn with_causes(error: &io::Error) -> String {
    let mut text = error.to_string();
    let mut source = std::error::Error::source(error);
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

impl<T: AsyncWrite + Unpin> AsyncWrite for PrefaceReader<T> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        data: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.io).poll_write(cx, data)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.io).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.io.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.io).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.io).poll_shutdown(cx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A frame header: 24-bit length, type, flags, stream 0.
    fn frame(kind: u8, payload: &[u8]) -> Vec<u8> {
        let n = payload.len();
        let mut bytes = vec![
            (n >> 16) as u8,
            (n >> 8) as u8,
            n as u8,
            kind,
            0,
            0,
            0,
            0,
            0,
        ];
        bytes.extend_from_slice(payload);
        bytes
    }

    fn setting(id: u16, value: u32) -> Vec<u8> {
        let mut bytes = id.to_be_bytes().to_vec();
        bytes.extend_from_slice(&value.to_be_bytes());
        bytes
    }

    #[test]
    fn the_limit_is_read_however_the_bytes_arrive() {
        // MAX_CONCURRENT_STREAMS 200, MAX_HEADER_LIST_SIZE 16384, then a
        // WINDOW_UPDATE that is not looked at.
        let mut payload = setting(0x3, 200);
        payload.extend(setting(0x6, 16384));
        let mut wire = frame(SETTINGS, &payload);
        wire.extend(frame(0x8, &[0, 0, 1, 0]));
        let expected = Some(Preface::Settings {
            max_header_list_size: Some(16384),
        });
        for chunk in [1, 2, 5, 9, 10, wire.len()] {
            let mut parser = Parser::default();
            let mut seen = None;
            for piece in wire.chunks(chunk) {
                if let Some(p) = parser.feed(piece) {
                    seen = Some(p);
                    break;
                }
            }
            assert_eq!(seen, expected, "read {chunk} bytes at a time");
        }
    }

    #[test]
    fn no_limit_stated_and_not_settings() {
        let mut parser = Parser::default();
        assert_eq!(
            parser.feed(&frame(SETTINGS, &setting(0x4, 65535))),
            Some(Preface::Settings {
                max_header_list_size: None
            })
        );
        assert_eq!(
            Parser::default().feed(&frame(SETTINGS, &[])),
            Some(Preface::Settings {
                max_header_list_size: None
            })
        );
        assert_eq!(
            Parser::default().feed(&frame(0x7, &[0; 8])),
            Some(Preface::NotSettings)
        );
        assert_eq!(Parser::default().feed(b"HTTP/1.1"), None);
    }
}
