//! A TCP proxy that counts a PostgreSQL client's round trips by reading the
//! protocol.
//!
//! In the v3 protocol a client waits for an answer only at a sync point: a
//! simple `Query` ('Q') or a `Sync` ('S') of the extended protocol, each of
//! which the server answers with exactly one `ReadyForQuery` ('Z'). A sync
//! point the client sends while every earlier one has been answered starts a
//! round trip; one it sends while an answer is still due was pipelined and
//! rides on the round trip already under way. The count follows from the
//! message framing (1 type byte, 4-byte big-endian length that includes
//! itself), not from the clock, so a busy machine neither fails nor passes a
//! test that asserts it.
//!
//! What the client waits for is decided by what it has received: an answer
//! counts as received just before the proxy writes it to the client, and a
//! client's request is counted before the proxy forwards it. Two requests
//! the client wrote in one flush arrive in one read, so they count as one
//! round trip whatever the timing. Start-up (authentication) is not counted:
//! tests read the count around the work they measure. TLS is not supported
//! (the tests connect without it).

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// A running proxy; it stops when dropped.
pub struct RoundTripProxy {
    port: u16,
    round_trips: Arc<AtomicU64>,
    task: tokio::task::JoinHandle<()>,
}

impl RoundTripProxy {
    /// Listen on 127.0.0.1 and forward every connection to `upstream`
    /// (PostgreSQL, or a pooler in front of it), counting round trips over
    /// all of them.
    pub async fn start(upstream: SocketAddr) -> RoundTripProxy {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind proxy");
        let port = listener.local_addr().expect("proxy address").port();
        let round_trips = Arc::new(AtomicU64::new(0));
        let counter = round_trips.clone();
        let task = tokio::spawn(async move {
            while let Ok((client, _)) = listener.accept().await {
                tokio::spawn(forward(client, upstream, counter.clone()));
            }
        });
        RoundTripProxy {
            port,
            round_trips,
            task,
        }
    }

    /// The port clients connect to.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// Round trips so far, over every connection.
    pub fn round_trips(&self) -> u64 {
        self.round_trips.load(Ordering::SeqCst)
    }
}

impl Drop for RoundTripProxy {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// `SSLRequest` and `GSSENCRequest`: start-up requests the server answers
/// with one unframed byte ('N' without TLS), after which the client sends
/// its start-up message.
const ENCRYPTION_REQUESTS: [u32; 2] = [80_877_103, 80_877_104];

/// What one connection's two directions share.
#[derive(Default)]
struct Conversation {
    /// Sync points sent whose `ReadyForQuery` the client has not received.
    unanswered: AtomicU64,
    /// Unframed bytes the server owes (answers to encryption requests).
    raw_bytes_due: AtomicU64,
}

async fn forward(client: TcpStream, upstream: SocketAddr, round_trips: Arc<AtomicU64>) {
    let Ok(server) = TcpStream::connect(upstream).await else {
        return;
    };
    let _ = client.set_nodelay(true);
    let _ = server.set_nodelay(true);
    let (mut client_read, mut client_write) = client.into_split();
    let (mut server_read, mut server_write) = server.into_split();
    let conversation = Arc::new(Conversation::default());
    let requests = {
        let conversation = conversation.clone();
        async move {
            let mut frames = Framer::new(true);
            let mut buffer = vec![0u8; 64 * 1024];
            while let Ok(n @ 1..) = client_read.read(&mut buffer).await {
                frames.feed(&buffer[..n], |message| match message {
                    Message::Untyped(code) if ENCRYPTION_REQUESTS.contains(&code) => {
                        conversation.raw_bytes_due.fetch_add(1, Ordering::SeqCst);
                        true
                    }
                    Message::Untyped(_) => {
                        // The start-up message: answered, after
                        // authentication, by the first ReadyForQuery.
                        conversation.unanswered.fetch_add(1, Ordering::SeqCst);
                        false
                    }
                    Message::Typed(b'Q' | b'S') => {
                        if conversation.unanswered.fetch_add(1, Ordering::SeqCst) == 0 {
                            round_trips.fetch_add(1, Ordering::SeqCst);
                        }
                        false
                    }
                    Message::Typed(_) => false,
                });
                if server_write.write_all(&buffer[..n]).await.is_err() {
                    break;
                }
            }
            let _ = server_write.shutdown().await;
        }
    };
    let answers = async move {
        let mut frames = Framer::new(false);
        let mut buffer = vec![0u8; 64 * 1024];
        while let Ok(n @ 1..) = server_read.read(&mut buffer).await {
            let mut chunk = &buffer[..n];
            while !chunk.is_empty() && conversation.raw_bytes_due.load(Ordering::SeqCst) > 0 {
                conversation.raw_bytes_due.fetch_sub(1, Ordering::SeqCst);
                chunk = &chunk[1..];
            }
            frames.feed(chunk, |message| {
                if message == Message::Typed(b'Z') {
                    let _ = conversation.unanswered.fetch_update(
                        Ordering::SeqCst,
                        Ordering::SeqCst,
                        |n| n.checked_sub(1),
                    );
                }
                false
            });
            if client_write.write_all(&buffer[..n]).await.is_err() {
                break;
            }
        }
        let _ = client_write.shutdown().await;
    };
    tokio::join!(requests, answers);
}

/// A message's kind, known once its header is read.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Message {
    /// A client start-up-phase message (no type byte), by its 4-byte code.
    Untyped(u32),
    /// Any other message, by its type byte.
    Typed(u8),
}

/// Splits one direction of a connection into messages, across reads.
struct Framer {
    /// The client's start-up phase: messages are a 4-byte length and a
    /// 4-byte code, no type byte.
    untyped: bool,
    header: Vec<u8>,
    /// Bytes of the current message's body not yet seen.
    body_left: usize,
}

impl Framer {
    fn new(untyped: bool) -> Self {
        Framer {
            untyped,
            header: Vec::with_capacity(8),
            body_left: 0,
        }
    }

    /// Pass `bytes` on; `on_message` is called once per message header and
    /// returns whether the next message is also untyped (only after an
    /// encryption request).
    fn feed(&mut self, mut bytes: &[u8], mut on_message: impl FnMut(Message) -> bool) {
        while !bytes.is_empty() {
            if self.body_left > 0 {
                let skip = self.body_left.min(bytes.len());
                self.body_left -= skip;
                bytes = &bytes[skip..];
                continue;
            }
            let header_len = 8 - usize::from(!self.untyped) * 3;
            let take = (header_len - self.header.len()).min(bytes.len());
            self.header.extend_from_slice(&bytes[..take]);
            bytes = &bytes[take..];
            if self.header.len() < header_len {
                return;
            }
            let word = |at: usize| {
                u32::from_be_bytes(self.header[at..at + 4].try_into().expect("4 bytes"))
            };
            let (message, length_after_header) = if self.untyped {
                (Message::Untyped(word(4)), word(0) as usize - 8)
            } else {
                (Message::Typed(self.header[0]), word(1) as usize - 4)
            };
            self.body_left = length_after_header;
            self.header.clear();
            self.untyped = on_message(message);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::{Framer, Message};

    fn typed(kind: u8, body: &[u8]) -> Vec<u8> {
        let mut message = vec![kind];
        message.extend_from_slice(&(body.len() as u32 + 4).to_be_bytes());
        message.extend_from_slice(body);
        message
    }

    /// Messages split at every possible point come out whole and in order.
    #[test]
    fn messages_are_framed_across_reads() {
        let mut stream = Vec::new();
        stream.extend_from_slice(&8u32.to_be_bytes());
        stream.extend_from_slice(&80_877_103u32.to_be_bytes());
        stream.extend_from_slice(&12u32.to_be_bytes());
        stream.extend_from_slice(&196_608u32.to_be_bytes());
        stream.extend_from_slice(b"abcd");
        stream.extend(typed(b'Q', b"select 1\0"));
        stream.extend(typed(b'P', b"\0select $1\0\0\0"));
        stream.extend(typed(b'S', b""));
        let expected = vec![
            Message::Untyped(80_877_103),
            Message::Untyped(196_608),
            Message::Typed(b'Q'),
            Message::Typed(b'P'),
            Message::Typed(b'S'),
        ];
        for chunk in 1..=stream.len() {
            let mut framer = Framer::new(true);
            let mut seen = Vec::new();
            for piece in stream.chunks(chunk) {
                framer.feed(piece, |message| {
                    seen.push(message);
                    message == Message::Untyped(80_877_103)
                });
            }
            assert_eq!(seen, expected, "read {chunk} bytes at a time");
        }
    }
}
