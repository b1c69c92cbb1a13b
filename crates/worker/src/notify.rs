//! The two ways out: email over SMTP (lettre) and texts through the HTTP
//! SMS gateway. Both are built per job from the settings' addresses and
//! the keyring's secrets, so a change in settings takes effect at once.

use std::time::Duration;

use lettre::message::header::ContentType;
use lettre::message::{Attachment, Mailbox, MultiPart, SinglePart};
use lettre::transport::smtp::authentication::Credentials;
use lettre::{Message, SmtpTransport, Transport};
use pitlane_core::settings::Integrations;
use pitlane_core::Api;
use serde_json::json;

use crate::Failure;

/// A PDF (or other file) to attach.
pub struct File {
    pub name: String,
    pub content_type: &'static str,
    pub bytes: Vec<u8>,
}

/// Email through the branch's SMTP server.
pub struct Mailer {
    transport: SmtpTransport,
    from: Mailbox,
}

fn integrations(api: &Api) -> Result<Integrations, Failure> {
    pitlane_core::settings::integrations(&api.lock_conn()).map_err(|e| format!("settings: {e}"))
}

impl Mailer {
    /// The mailer the settings describe; `None` when no SMTP server is set.
    pub fn from_settings(api: &Api) -> Result<Option<Mailer>, Failure> {
        let settings = integrations(api)?;
        let Some(host) = settings.smtp_host else {
            return Ok(None);
        };
        let from =
            settings.smtp_from.ok_or("Email is set up without a sender address: add one in the email settings.")?;
        let from: Mailbox = from.parse().map_err(|e| format!("the sender address does not parse: {e}"))?;
        let builder = match settings.smtp_security.as_deref().unwrap_or("starttls") {
            "tls" => SmtpTransport::relay(&host).map_err(|e| format!("smtp: {e}"))?,
            "none" => SmtpTransport::builder_dangerous(&host),
            _ => SmtpTransport::starttls_relay(&host).map_err(|e| format!("smtp: {e}"))?,
        };
        let mut builder = builder.timeout(Some(Duration::from_secs(30)));
        if let Some(port) = settings.smtp_port {
            builder = builder.port(port);
        }
        if let Some(user) = settings.smtp_username {
            let password = api
                .read_secret("smtp_password")
                .map_err(|e| format!("{e}"))?
                .ok_or("The email password is not in the system keyring: enter it again in the email settings.")?;
            builder = builder.credentials(Credentials::new(user, password));
        }
        Ok(Some(Mailer { transport: builder.build(), from }))
    }

    /// Sends one email; `id` (the job id) becomes its Message-ID, so a
    /// repeat after a crash is recognisably the same message.
    pub fn send(&self, to: &str, subject: &str, body: &str, file: Option<File>, id: &str) -> Result<(), Failure> {
        let to: Mailbox = to.parse().map_err(|e| format!("the address {to} does not parse: {e}"))?;
        let domain = self.from.email.domain().to_string();
        let message_id = format!("<{}@{domain}>", id.replace(':', "."));
        let builder = Message::builder().from(self.from.clone()).to(to).subject(subject).message_id(Some(message_id));
        let text = SinglePart::plain(body.to_string());
        let message = match file {
            Some(f) => {
                let kind = ContentType::parse(f.content_type).map_err(|e| format!("content type: {e}"))?;
                builder.multipart(
                    MultiPart::mixed().singlepart(text).singlepart(Attachment::new(f.name).body(f.bytes, kind)),
                )
            }
            None => builder.singlepart(text),
        }
        .map_err(|e| format!("building the email: {e}"))?;
        self.transport.send(&message).map(|_| ()).map_err(|e| format!("smtp: {e}"))
    }
}

/// Texts through the SMS gateway: `POST {url}/v1/messages` with the key as
/// a bearer token and the job id as `Idempotency-Key` (docs/EVENTS.md).
pub struct Sms {
    client: reqwest::blocking::Client,
    url: String,
    key: String,
    sender: String,
}

impl Sms {
    /// The gateway the settings describe; `None` when none is set.
    pub fn from_settings(api: &Api) -> Result<Option<Sms>, Failure> {
        let settings = integrations(api)?;
        let Some(url) = settings.sms_gateway_url else {
            return Ok(None);
        };
        let key = api
            .read_secret("sms_api_key")
            .map_err(|e| format!("{e}"))?
            .ok_or("the SMS gateway's key is not in the keyring (sms_api_key)")?;
        let client = reqwest::blocking::Client::builder()
            .timeout(Duration::from_secs(20))
            .build()
            .map_err(|e| format!("http client: {e}"))?;
        Ok(Some(Sms { client, url, key, sender: settings.sms_sender.unwrap_or_else(|| "Pitlane".into()) }))
    }

    pub fn send(&self, to: &str, text: &str, id: &str) -> Result<(), Failure> {
        let response = self
            .client
            .post(format!("{}/v1/messages", self.url))
            .bearer_auth(&self.key)
            .header("Idempotency-Key", id)
            .json(&json!({ "to": to, "from": self.sender, "text": text }))
            .send()
            .map_err(|e| format!("sms gateway: {}", if e.is_timeout() { "timed out" } else { "could not connect" }))?;
        if response.status().is_success() {
            Ok(())
        } else {
            Err(format!("sms gateway answered {}", response.status().as_u16()))
        }
    }
}
