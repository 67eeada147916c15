//! Delivery of verification and password-reset links.
//!
//! Pluggable: a deployment implements [`Mailer`] over its email provider. The
//! default writes the message to the log, which is what a developer wants
//! locally. The link carries a secret, so it is logged at `info` only by
//! this development mailer.

/// A message to one recipient.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Message {
    /// Recipient address.
    pub to: String,
    /// Subject line.
    pub subject: String,
    /// Plain-text body.
    pub body: String,
}

/// Sends messages. Implementations must not block the async runtime.
pub trait Mailer: Send + Sync {
    /// Send one message; failures are logged, not returned, so that a slow
    /// or failing provider never tells a caller whether an address exists.
    fn send(&self, message: Message);
}

/// Writes every message to the log.
#[derive(Clone, Copy, Debug, Default)]
pub struct LogMailer;

impl Mailer for LogMailer {
    fn send(&self, message: Message) {
        tracing::info!(to = %message.to, subject = %message.subject, body = %message.body, "mail (log sender)");
    }
}

/// Keeps messages in memory, for tests.
#[derive(Debug, Default)]
pub struct MemoryMailer {
    sent: std::sync::Mutex<Vec<Message>>,
}

impl MemoryMailer {
    /// Messages sent so far.
    pub fn sent(&self) -> Vec<Message> {
        self.sent.lock().map(|m| m.clone()).unwrap_or_default()
    }
}

impl Mailer for MemoryMailer {
    fn send(&self, message: Message) {
        if let Ok(mut sent) = self.sent.lock() {
            sent.push(message);
        }
    }
}
