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
}

impl Mailer {
    pub fn new(config: &EmailConfig) -> anyhow::Result<Self> {
        let from: Mailbox = config
            .from
            .parse()
            .map_err(|e| anyhow::anyhow!("email.from: {e}"))?;
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
        let message = self.build(mail)?;
        match &self.backend {
            Backend::None => {
                tracing::info!("mail not sent: no email transport is configured");
                Ok(())
            }
            Backend::Smtp(transport) => transport
                .send(message)
                .await
                .map(|_| ())
                .map_err(Into::into),
            Backend::File(transport) => transport
                .send(message)
                .await
                .map(|_| ())
                .map_err(Into::into),
        }
    }

    fn build(&self, mail: Mail) -> anyhow::Result<Message> {
        let mut builder = Message::builder()
            .from(self.from.clone())
            .to(mail.to)
            .subject(mail.subject);
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
