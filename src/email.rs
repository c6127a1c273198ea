//! Outgoing mail through lettre, behind one `Mailer` with three backends:
//! SMTP, `.eml` files, or none (logged). Callers build a message and send;
//! they never know which backend is configured.

use lettre::message::{header::ContentType, Mailbox, MultiPart, SinglePart};
use lettre::transport::smtp::authentication::Credentials;
use lettre::{AsyncFileTransport, AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use secrecy::ExposeSecret;

use crate::config::{EmailConfig, EmailTransport, SmtpTls};

#[derive(Clone)]
enum Backend {
    None,
    Smtp(AsyncSmtpTransport<Tokio1Executor>),
    File(AsyncFileTransport<Tokio1Executor>),
}

#[derive(Clone)]
pub struct Mailer {
    backend: Backend,
    from: Mailbox,
}

/// A mail to send: a subject, a plain-text body and optionally HTML.
pub struct Mail {
    pub to: Mailbox,
    pub subject: String,
    pub text: String,
    pub html: Option<String>,
    /// Extra headers (name, value), e.g. `List-Unsubscribe`.
    pub headers: Vec<(String, String)>,
    /// A stable `Message-ID` (without `<>`): a mail sent again after a crash
    /// keeps its id, so a receiver that has it already can tell.
    pub message_id: Option<String>,
}

/// Why a mail could not be sent, as the sender needs to know it.
#[derive(Debug, thiserror::Error)]
pub enum SendError {
    /// The server cannot take any mail now: no connection, TLS, a timeout,
    /// "421 closing", or our credentials refused. Nothing is wrong with this
    /// mail; every mail would fail the same way.
    #[error("{0}")]
    Unavailable(String),
    /// This mail was deferred (4xx: mailbox full, greylisting): try it again
    /// later, the others may go on.
    #[error("{0}")]
    Transient(String),
    /// Trying again will not help: the server refused this mail (5xx) or
    /// the mail itself is unusable.
    #[error("{0}")]
    Permanent(String),
}

impl SendError {
    fn from_smtp(e: lettre::transport::smtp::Error) -> Self {
        let code = e.status().map(|c| c.to_string()).unwrap_or_default();
        match code.as_str() {
            // 421: service closing; 530/534/535/538: authentication refused
            // (a configuration problem, not the recipient's).
            "421" | "454" | "530" | "534" | "535" | "538" => SendError::Unavailable(e.to_string()),
            _ if e.is_permanent() => SendError::Permanent(e.to_string()),
            _ if e.is_transient() => SendError::Transient(e.to_string()),
            _ => SendError::Unavailable(e.to_string()),
        }
    }
}

impl Mailer {
    pub fn new(config: &EmailConfig) -> anyhow::Result<Self> {
        // Without a transport nothing is sent, so no sender is needed (the
        // configuration check requires one otherwise).
        let from: Mailbox =
            if config.transport == EmailTransport::None && config.from.trim().is_empty() {
                Mailbox::new(None, lettre::Address::new("halftone", "localhost")?)
            } else {
                config
                    .from
                    .parse()
                    .map_err(|e| anyhow::anyhow!("email.from: {e}"))?
            };
        let backend = match config.transport {
            EmailTransport::None => Backend::None,
            EmailTransport::File => {
                let dir = config
                    .file_dir
                    .clone()
                    .ok_or_else(|| anyhow::anyhow!("email.file_dir is not set"))?;
                std::fs::create_dir_all(&dir)?;
                Backend::File(AsyncFileTransport::new(dir))
            }
            EmailTransport::Smtp => {
                let host = config.smtp_host.as_str();
                let mut builder = match config.smtp_tls {
                    SmtpTls::None => AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(host),
                    SmtpTls::Starttls => {
                        AsyncSmtpTransport::<Tokio1Executor>::starttls_relay(host)?
                    }
                    SmtpTls::Tls => AsyncSmtpTransport::<Tokio1Executor>::relay(host)?,
                }
                .port(config.smtp_port)
                .timeout(Some(std::time::Duration::from_secs(20)));
                if let Some(password) = &config.smtp_password {
                    builder = builder.credentials(Credentials::new(
                        config.smtp_username.clone(),
                        password.expose_secret().to_owned(),
                    ));
                }
                Backend::Smtp(builder.build())
            }
        };
        Ok(Self { backend, from })
    }

    pub fn is_enabled(&self) -> bool {
        !matches!(self.backend, Backend::None)
    }

    pub fn from(&self) -> &Mailbox {
        &self.from
    }

    #[tracing::instrument(skip_all, fields(to = %mail.to, subject = %mail.subject))]
    pub async fn send(&self, mail: Mail) -> anyhow::Result<()> {
        self.try_send(mail).await.map_err(Into::into)
    }

    /// Sends and says whether a failure is worth retrying.
    pub async fn try_send(&self, mail: Mail) -> Result<(), SendError> {
        let message = self
            .build(mail)
            .map_err(|e| SendError::Permanent(format!("{e:#}")))?;
        self.deliver(message).await
    }

    async fn deliver(&self, message: Message) -> Result<(), SendError> {
        match &self.backend {
            Backend::None => {
                tracing::info!("mail not sent: no email transport is configured");
                Ok(())
            }
            Backend::Smtp(transport) => transport
                .send(message)
                .await
                .map(|_| ())
                .map_err(SendError::from_smtp),
            Backend::File(transport) => transport
                .send(message)
                .await
                .map(|_| ())
                .map_err(|e| SendError::Unavailable(e.to_string())),
        }
    }

    fn build(&self, mail: Mail) -> anyhow::Result<Message> {
        let mut builder = Message::builder()
            .from(self.from.clone())
            .to(mail.to)
            .subject(mail.subject)
            .message_id(mail.message_id.map(|id| format!("<{id}>")));
        for (name, value) in mail.headers {
            builder = builder.raw_header(lettre::message::header::HeaderValue::new(
                lettre::message::header::HeaderName::new_from_ascii(name)?,
                value,
            ));
        }
        let text = SinglePart::builder()
            .header(ContentType::TEXT_PLAIN)
            .body(mail.text);
        let message = match mail.html {
            Some(html) => builder.multipart(
                MultiPart::alternative().singlepart(text).singlepart(
                    SinglePart::builder()
                        .header(ContentType::TEXT_HTML)
                        .body(html),
                ),
            )?,
            None => builder.singlepart(text)?,
        };
        Ok(message)
    }
}

/// A validated, normalized e-mail address.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(transparent)]
pub struct EmailAddress(String);

impl EmailAddress {
    /// One address (`ada@example.com`): checked by the mailer's own parser
    /// (lettre's RFC 5321 rules), so what is accepted here can be sent to,
    /// and lists (`a@x.com,b@y.com`) or display forms (`<a@x.com>`) are not.
    pub fn parse(input: &str) -> Result<Self, String> {
        let email = input.trim().to_lowercase();
        let valid = email.len() <= 254
            && email.parse::<lettre::Address>().is_ok()
            && email.rsplit_once('@').is_some_and(|(_, domain)| {
                domain.contains('.') && !domain.starts_with('.') && !domain.ends_with('.')
            });
        if valid {
            Ok(Self(email))
        } else {
            Err(format!("“{}” is not an e-mail address.", input.trim()))
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

#[cfg(test)]
mod address_tests {
    use super::EmailAddress;

    #[test]
    fn one_plain_address_only() {
        for good in ["ada@example.com", " Ada.Lovelace+comics@Example.co.uk "] {
            assert!(EmailAddress::parse(good).is_ok(), "{good}");
        }
        for bad in [
            "x@a.com,y@b.com",
            "<x@a.com>",
            "Ada <ada@example.com>",
            "ada@example",
            "ada@@example.com",
            "ada@exa mple.com",
            "ada@example.com\r\nBcc: eve@example.com",
            "@example.com",
            "ada@",
            "",
        ] {
            assert!(EmailAddress::parse(bad).is_err(), "{bad:?} was accepted");
        }
    }
}
