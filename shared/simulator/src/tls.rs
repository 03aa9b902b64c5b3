//! The simulator's listener: plain TCP or TLS with a self-signed certificate made at
//! start, and connections the server can drop without answering.
//!
//! Each accepted connection carries a [`Conn`] handle (axum's connect info). A handler
//! that decides to drop the connection sets its kill switch; from then on the stream
//! refuses to write, so hyper closes the socket without sending a byte of the answer,
//! as a real network failure would look to the client.

use axum::extract::connect_info::Connected;
use axum::serve::{IncomingStream, Listener};
use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::task::{Context, Poll};
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio_rustls::TlsAcceptor;
use tokio_rustls::rustls;

/// Errors making the TLS certificate or configuration.
#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    #[error("cannot generate the self-signed certificate: {0}")]
    Certificate(#[from] rcgen::Error),
    #[error("cannot configure TLS: {0}")]
    Rustls(#[from] rustls::Error),
    #[error("cannot write the certificate to {path}: {source}")]
    Write {
        path: String,
        #[source]
        source: io::Error,
    },
}

/// A self-signed certificate for `127.0.0.1`, `::1` and `localhost`, and the TLS acceptor
/// serving it.
pub struct SelfSigned {
    pub cert_pem: String,
    pub acceptor: TlsAcceptor,
}

impl std::fmt::Debug for SelfSigned {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SelfSigned").finish_non_exhaustive()
    }
}

/// Generates the certificate and its acceptor (crypto by aws-lc-rs, as reqwest uses).
pub fn self_signed() -> Result<SelfSigned, TlsError> {
    let names = vec![
        "localhost".to_string(),
        "127.0.0.1".to_string(),
        "::1".to_string(),
    ];
    let rcgen::CertifiedKey { cert, signing_key } = rcgen::generate_simple_self_signed(names)?;
    let cert_pem = cert.pem();
    let key = rustls::pki_types::PrivateKeyDer::Pkcs8(signing_key.serialize_der().into());
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let mut config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()?
        .with_no_client_auth()
        .with_single_cert(vec![cert.der().clone()], key)?;
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(SelfSigned {
        cert_pem,
        acceptor: TlsAcceptor::from(Arc::new(config)),
    })
}

/// The connect info of one connection: its peer and its kill switch.
#[derive(Debug, Clone)]
pub struct Conn {
    pub peer: SocketAddr,
    kill: Arc<AtomicBool>,
}

impl Conn {
    /// Makes the connection close without writing anything more.
    pub fn drop_connection(&self) {
        self.kill.store(true, Ordering::SeqCst);
    }
}

/// TCP listener, with TLS when it has an acceptor. TLS handshakes run in their own
/// tasks, so a slow or silent client never holds up the others.
pub struct SimListener {
    tcp: TcpListener,
    tls: Option<TlsAcceptor>,
    handshaken: tokio::sync::mpsc::Sender<(Inner, SocketAddr)>,
    ready: tokio::sync::mpsc::Receiver<(Inner, SocketAddr)>,
}

impl SimListener {
    pub fn new(tcp: TcpListener, tls: Option<TlsAcceptor>) -> Self {
        let (handshaken, ready) = tokio::sync::mpsc::channel(64);
        SimListener {
            tcp,
            tls,
            handshaken,
            ready,
        }
    }
}

fn accepted(inner: Inner, peer: SocketAddr) -> (SimStream, Conn) {
    let kill = Arc::new(AtomicBool::new(false));
    (
        SimStream {
            inner,
            kill: kill.clone(),
        },
        Conn { peer, kill },
    )
}

/// How long a TLS handshake may take before the connection is given up.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

impl Listener for SimListener {
    type Io = SimStream;
    type Addr = Conn;

    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        loop {
            let (tcp, peer) = tokio::select! {
                Some((inner, peer)) = self.ready.recv() => return accepted(inner, peer),
                result = self.tcp.accept() => match result {
                    Ok(pair) => pair,
                    Err(error) => {
                        // Out of file descriptors and the like: wait, as axum's listener does.
                        tracing::warn!(%error, "accept failed");
                        tokio::time::sleep(Duration::from_millis(50)).await;
                        continue;
                    }
                },
            };
            let Some(acceptor) = self.tls.clone() else {
                return accepted(Inner::Plain(tcp), peer);
            };
            let handshaken = self.handshaken.clone();
            tokio::spawn(async move {
                match tokio::time::timeout(HANDSHAKE_TIMEOUT, acceptor.accept(tcp)).await {
                    Ok(Ok(stream)) => {
                        // The server may be gone, and the connection with it.
                        let _ = handshaken.send((Inner::Tls(Box::new(stream)), peer)).await;
                    }
                    Ok(Err(error)) => tracing::debug!(%error, "TLS handshake failed"),
                    Err(_) => tracing::debug!("TLS handshake timed out"),
                }
            });
        }
    }

    fn local_addr(&self) -> io::Result<Self::Addr> {
        Ok(Conn {
            peer: self.tcp.local_addr()?,
            kill: Arc::new(AtomicBool::new(false)),
        })
    }
}

impl Connected<IncomingStream<'_, SimListener>> for Conn {
    fn connect_info(stream: IncomingStream<'_, SimListener>) -> Self {
        stream.remote_addr().clone()
    }
}

enum Inner {
    Plain(TcpStream),
    Tls(Box<tokio_rustls::server::TlsStream<TcpStream>>),
}

/// An accepted connection that stops writing once killed.
pub struct SimStream {
    inner: Inner,
    kill: Arc<AtomicBool>,
}

fn killed() -> io::Error {
    io::Error::new(
        io::ErrorKind::ConnectionAborted,
        "connection dropped by fault injection",
    )
}

impl AsyncRead for SimStream {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        if this.kill.load(Ordering::SeqCst) {
            return Poll::Ready(Err(killed()));
        }
        match &mut this.inner {
            Inner::Plain(s) => Pin::new(s).poll_read(cx, buf),
            Inner::Tls(s) => Pin::new(s.as_mut()).poll_read(cx, buf),
        }
    }
}

/// Header names Salesforce spells otherwise than title case, as hyper's title-casing writes
/// them and as Salesforce does. Each pair has the same length, so a write's byte count is
/// unchanged.
const SALESFORCE_HEADER_CASE: &[(&[u8], &[u8])] = &[(
    b"\r\nSforce-Numberofrecords:",
    b"\r\nSforce-NumberOfRecords:",
)];

/// The response head in `buf` with the names of [`SALESFORCE_HEADER_CASE`] spelled as
/// Salesforce spells them, or `None` when `buf` does not start a response head that has
/// one. hyper writes a response's status line and headers in one buffer, ahead of its body.
fn salesforce_case(buf: &[u8]) -> Option<Vec<u8>> {
    if !buf.starts_with(b"HTTP/1.") {
        return None;
    }
    let head_end = buf
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .map_or(buf.len(), |p| p + 2);
    let mut fixed: Option<Vec<u8>> = None;
    for (hyper_case, salesforce) in SALESFORCE_HEADER_CASE {
        let head = &buf[..head_end];
        if let Some(at) = head
            .windows(hyper_case.len())
            .position(|w| w == *hyper_case)
        {
            let out = fixed.get_or_insert_with(|| buf.to_vec());
            out[at..at + salesforce.len()].copy_from_slice(salesforce);
        }
    }
    fixed
}

impl AsyncWrite for SimStream {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        if this.kill.load(Ordering::SeqCst) {
            return Poll::Ready(Err(killed()));
        }
        let fixed = salesforce_case(buf);
        let buf = fixed.as_deref().unwrap_or(buf);
        match &mut this.inner {
            Inner::Plain(s) => Pin::new(s).poll_write(cx, buf),
            Inner::Tls(s) => Pin::new(s.as_mut()).poll_write(cx, buf),
        }
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        if this.kill.load(Ordering::SeqCst) {
            return Poll::Ready(Err(killed()));
        }
        let fixed = bufs.first().and_then(|first| salesforce_case(first));
        let mut slices;
        let bufs = match &fixed {
            Some(head) => {
                slices = bufs.to_vec();
                slices[0] = io::IoSlice::new(head);
                &slices[..]
            }
            None => bufs,
        };
        match &mut this.inner {
            Inner::Plain(s) => Pin::new(s).poll_write_vectored(cx, bufs),
            Inner::Tls(s) => Pin::new(s.as_mut()).poll_write_vectored(cx, bufs),
        }
    }

    fn is_write_vectored(&self) -> bool {
        match &self.inner {
            Inner::Plain(s) => s.is_write_vectored(),
            Inner::Tls(s) => s.is_write_vectored(),
        }
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        if this.kill.load(Ordering::SeqCst) {
            return Poll::Ready(Err(killed()));
        }
        match &mut this.inner {
            Inner::Plain(s) => Pin::new(s).poll_flush(cx),
            Inner::Tls(s) => Pin::new(s.as_mut()).poll_flush(cx),
        }
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match &mut self.get_mut().inner {
            Inner::Plain(s) => Pin::new(s).poll_shutdown(cx),
            Inner::Tls(s) => Pin::new(s.as_mut()).poll_shutdown(cx),
        }
    }
}
