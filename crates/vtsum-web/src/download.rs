//! A report download streamed to the client as it is rendered: the renderer runs on a
//! blocking thread and writes into a [`ChunkWriter`], whose chunks go through a small
//! channel to the response body. Memory holds a few chunks, whatever the report's size;
//! a slow client slows the renderer (the channel is bounded) and a client that leaves
//! stops it (its next send fails as a broken pipe).
//!
//! The status is decided by the first chunk: a report that fails before writing anything
//! (a workbook over Excel's row limit, a store that cannot be read) is answered with its
//! error. One that fails after the first chunk has gone cannot change its status any more;
//! its body ends in an error, so the client sees a broken download, never a short one
//! that looks whole.

use std::io::{self, Write};

use axum::body::{Body, Bytes};
use tokio::sync::mpsc;

use crate::WebError;

/// Bytes gathered before a chunk is sent.
const CHUNK: usize = 64 * 1024;

/// Chunks in flight between the renderer and the client.
const IN_FLIGHT: usize = 4;

type Message = Result<Bytes, WebError>;

/// A writer whose bytes go to a response body, [`CHUNK`] at a time.
pub struct ChunkWriter {
    buf: Vec<u8>,
    tx: mpsc::Sender<Message>,
}

impl ChunkWriter {
    /// Sends what is gathered; fails as a broken pipe when the client has gone.
    fn send(&mut self) -> io::Result<()> {
        if self.buf.is_empty() {
            return Ok(());
        }
        let chunk = Bytes::from(std::mem::replace(&mut self.buf, Vec::with_capacity(CHUNK)));
        self.tx
            .blocking_send(Ok(chunk))
            .map_err(|_| io::Error::new(io::ErrorKind::BrokenPipe, "the client went away"))
    }
}

impl Write for ChunkWriter {
    fn write(&mut self, bytes: &[u8]) -> io::Result<usize> {
        self.buf.extend_from_slice(bytes);
        if self.buf.len() >= CHUNK {
            self.send()?;
        }
        Ok(bytes.len())
    }

    /// Nothing: renderers flush when they like, and a chunk per flush would be tiny.
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// Runs `render` on a blocking thread and answers with what it writes: the body once the
/// first chunk is there, or `render`'s error if it fails before writing any.
pub async fn stream(
    render: impl FnOnce(&mut ChunkWriter) -> Result<(), WebError> + Send + 'static,
) -> Result<Body, WebError> {
    let (tx, mut rx) = mpsc::channel::<Message>(IN_FLIGHT);
    let task = tokio::task::spawn_blocking(move || {
        let mut w = ChunkWriter {
            buf: Vec::with_capacity(CHUNK),
            tx: tx.clone(),
        };
        let outcome = render(&mut w).and_then(|()| {
            w.send()
                .map_err(|source| vtsum_core::Error::io("sending the report", source).into())
        });
        if let Err(e) = outcome {
            // The client may have gone (that is how the render stopped): nobody to tell.
            let _ = tx.blocking_send(Err(e));
        }
    });
    let first = match rx.recv().await {
        Some(Ok(chunk)) => chunk,
        Some(Err(e)) => return Err(e),
        None => {
            // No chunk and no error: the renderer panicked (or wrote nothing at all).
            task.await.map_err(|source| vtsum_core::Error::Task {
                what: "rendering a report",
                source,
            })?;
            Bytes::new()
        }
    };
    let rest = tokio_stream::wrappers::ReceiverStream::new(rx);
    let body = tokio_stream::StreamExt::map(rest, |m| {
        m.map_err(|e| {
            tracing::warn!("a report download broke off: {e}");
            io::Error::other(e.to_string())
        })
    });
    let first = tokio_stream::once(Ok::<Bytes, io::Error>(first));
    Ok(Body::from_stream(tokio_stream::StreamExt::chain(
        first, body,
    )))
}
