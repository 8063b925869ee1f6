"""Plain-text email over SMTP (aiosmtplib): one copy for any service that sends mail.

The caller builds the text (nothing identifying about a child goes in an email) and says which
server to use; a refusal or an unreachable server raises `MailNotSent` with only the error's
class, never the server's reply (it may quote the message).
"""

from __future__ import annotations

from dataclasses import dataclass
from email.message import EmailMessage

import aiosmtplib


@dataclass(frozen=True)
class SmtpServer:
    host: str
    port: int
    mail_from: str
    username: str | None = None
    password: str | None = None
    starttls: bool = False
    timeout_seconds: float = 15.0


class MailNotSent(Exception):
    """The SMTP server refused the message or could not be reached: it was not sent."""


def build_message(
    server: SmtpServer, *, recipients: list[str], subject: str, text: str, message_id: str
) -> EmailMessage:
    message = EmailMessage()
    message["From"] = server.mail_from
    message["To"] = ", ".join(recipients)
    message["Subject"] = subject
    # Stable per logical message: a receiving system can tell a repeat from a new one.
    message["Message-ID"] = f"<{message_id}@frontdoor>"
    message.set_content(text)
    return message


async def send_text(
    server: SmtpServer, *, recipients: list[str], subject: str, text: str, message_id: str
) -> None:
    if not recipients:
        raise ValueError("an email needs at least one recipient")
    message = build_message(
        server, recipients=recipients, subject=subject, text=text, message_id=message_id
    )
    try:
        await aiosmtplib.send(
            message,
            hostname=server.host,
            port=server.port,
            username=server.username,
            password=server.password,
            start_tls=server.starttls,
            timeout=server.timeout_seconds,
        )
    except (aiosmtplib.SMTPException, OSError, TimeoutError) as exc:
        raise MailNotSent(type(exc).__name__) from None
