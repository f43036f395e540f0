//! SIP over TCP: accepts connections, frames messages with the SIP codec and
//! hands them to the SIP task; sends the task's messages back on the
//! connection they belong to.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use futures_util::{SinkExt, StreamExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;
use tokio_util::codec::{FramedRead, FramedWrite};

use crate::sip::codec::SipCodec;

/// One SIP message read from a TCP connection.
pub struct TcpIn {
    pub addr: SocketAddr,
    pub bytes: Vec<u8>,
}

/// Writers of the open connections, by the peer's address.
#[derive(Clone, Default)]
pub struct TcpConnections {
    writers: Arc<Mutex<HashMap<SocketAddr, mpsc::Sender<Vec<u8>>>>>,
}

impl TcpConnections {
    pub async fn send(&self, addr: SocketAddr, bytes: Vec<u8>) {
        let writer = self.writers.lock().ok().and_then(|w| w.get(&addr).cloned());
        match writer {
            Some(tx) => {
                let _ = tx.send(bytes).await;
            }
            // The peer closed the connection; RFC 3261 would open a new one
            // to its Via, which callers behind NAT cannot accept anyway.
            None => tracing::debug!(%addr, "no TCP connection for a SIP message"),
        }
    }

    fn add(&self, addr: SocketAddr, tx: mpsc::Sender<Vec<u8>>) {
        if let Ok(mut w) = self.writers.lock() {
            w.insert(addr, tx);
        }
    }

    fn remove(&self, addr: SocketAddr) {
        if let Ok(mut w) = self.writers.lock() {
            w.remove(&addr);
        }
    }
}

pub async fn accept_loop(listener: TcpListener, inbox: mpsc::Sender<TcpIn>, conns: TcpConnections) {
    loop {
        match listener.accept().await {
            Ok((stream, addr)) => {
                tokio::spawn(serve_connection(stream, addr, inbox.clone(), conns.clone()));
            }
            Err(e) => {
                tracing::warn!("TCP accept failed: {e}");
                tokio::time::sleep(std::time::Duration::from_millis(50)).await;
            }
        }
    }
}

async fn serve_connection(
    stream: TcpStream,
    addr: SocketAddr,
    inbox: mpsc::Sender<TcpIn>,
    conns: TcpConnections,
) {
    let (read, write) = stream.into_split();
    let (tx, mut rx) = mpsc::channel::<Vec<u8>>(64);
    conns.add(addr, tx);
    let writer = tokio::spawn(async move {
        let mut sink = FramedWrite::new(write, SipCodec::default());
        while let Some(bytes) = rx.recv().await {
            if sink.send(bytes).await.is_err() {
                break;
            }
        }
    });
    let mut frames = FramedRead::new(read, SipCodec::default());
    while let Some(frame) = frames.next().await {
        match frame {
            Ok(bytes) => {
                if inbox
                    .send(TcpIn {
                        addr,
                        bytes: bytes.to_vec(),
                    })
                    .await
                    .is_err()
                {
                    break;
                }
            }
            // A stream that cannot be framed cannot be resynchronised.
            Err(e) => {
                tracing::debug!(%addr, "closing SIP/TCP connection: {e}");
                break;
            }
        }
    }
    conns.remove(addr);
    writer.abort();
}
