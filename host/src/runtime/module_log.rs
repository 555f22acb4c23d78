//! A module's standard error, sent to the host's tracing log line by line and
//! tagged with the module, so a supplier's diagnostics reach the operator
//! without the module touching the host's own stdio.

use std::io;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};

use bytes::Bytes;
use tokio::io::AsyncWrite;
use wasmtime_wasi::cli::{IsTerminal, StdoutStream};
use wasmtime_wasi::p2::{OutputStream, Pollable, StreamError};

/// How much a module may write to stderr in one call; the rest is dropped,
/// and the log says so.
const MAX_BYTES_PER_CALL: usize = 64 * 1024;

/// The stderr of one module call.
#[derive(Clone)]
pub struct ModuleLog {
    module: Arc<str>,
    state: Arc<Mutex<LogState>>,
}

#[derive(Default)]
struct LogState {
    line: Vec<u8>,
    written: usize,
    dropped: usize,
}

impl ModuleLog {
    /// A log for a module, labelled e.g. `meridian/scheduling@1.0.0`.
    pub fn new(module: Arc<str>) -> Self {
        ModuleLog {
            module,
            state: Arc::new(Mutex::new(LogState::default())),
        }
    }

    fn append(&self, bytes: &[u8]) -> usize {
        let Ok(mut state) = self.state.lock() else {
            return bytes.len();
        };
        let room = MAX_BYTES_PER_CALL.saturating_sub(state.written);
        let kept = &bytes[..bytes.len().min(room)];
        state.written += kept.len();
        state.dropped += bytes.len() - kept.len();
        for &b in kept {
            if b == b'\n' {
                let line = std::mem::take(&mut state.line);
                self.emit(&line);
            } else {
                state.line.push(b);
            }
        }
        bytes.len()
    }

    fn emit(&self, line: &[u8]) {
        let text = String::from_utf8_lossy(line);
        tracing::warn!(target: "module", module = %self.module, "{}", text.trim_end());
    }

    /// Writes out any unfinished line and notes dropped output. Called when
    /// the call ends.
    pub fn finish(&self) {
        let Ok(mut state) = self.state.lock() else {
            return;
        };
        let line = std::mem::take(&mut state.line);
        if !line.is_empty() {
            self.emit(&line);
        }
        if state.dropped > 0 {
            tracing::warn!(target: "module", module = %self.module,
                "{} bytes of stderr dropped: over the {MAX_BYTES_PER_CALL}-byte limit per call", state.dropped);
            state.dropped = 0;
        }
    }
}

#[wasmtime_wasi::async_trait]
impl OutputStream for ModuleLog {
    fn write(&mut self, bytes: Bytes) -> Result<(), StreamError> {
        self.append(&bytes);
        Ok(())
    }

    fn flush(&mut self) -> Result<(), StreamError> {
        Ok(())
    }

    fn check_write(&mut self) -> Result<usize, StreamError> {
        Ok(4096)
    }
}

#[wasmtime_wasi::async_trait]
impl Pollable for ModuleLog {
    async fn ready(&mut self) {}
}

impl AsyncWrite for ModuleLog {
    fn poll_write(
        self: Pin<&mut Self>,
        _: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Poll::Ready(Ok(self.append(buf)))
    }

    fn poll_flush(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }

    fn poll_shutdown(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }
}

impl IsTerminal for ModuleLog {
    fn is_terminal(&self) -> bool {
        false
    }
}

impl StdoutStream for ModuleLog {
    fn p2_stream(&self) -> Box<dyn OutputStream> {
        Box::new(self.clone())
    }

    fn async_stream(&self) -> Box<dyn AsyncWrite + Send + Sync> {
        Box::new(self.clone())
    }
}
