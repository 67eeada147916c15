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

impl Message {
    /// A message whose texts hold no control characters: they are one line
    /// each and built from stored or submitted values, which must not add
    /// lines to a mail or to the log (each becomes U+FFFD). Inputs are
    /// checked long before this; a database shared with another application
    /// may hold what we would have refused.
    pub fn new(to: &str, subject: &str, body: &str) -> Self {
        let clean = |text: &str| {
            text.chars()
                .map(|c| {
                    if c.is_control() {
                        char::REPLACEMENT_CHARACTER
                    } else {
                        c
                    }
                })
                .collect()
        };
        Message {
            to: clean(to),
            subject: clean(subject),
            body: clean(body),
        }
    }
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

#[cfg(test)]
mod tests {
    use super::Message;

    #[test]
    fn messages_carry_no_control_characters() {
        let message = Message::new("a@b.example", "Hi\r\nBcc: x", "one\nline\u{1b}[2J\u{85}");
        assert_eq!(message.subject, "Hi\u{fffd}\u{fffd}Bcc: x");
        assert_eq!(message.body, "one\u{fffd}line\u{fffd}[2J\u{fffd}");
        assert_eq!(message.to, "a@b.example");
    }
}
