"""Plain-text email over SMTP (aiosmtplib): one copy for any service that sends mail.

The caller builds the text (nothing identifying about a child goes in an email) and says which
server to use; a refusal or an unreachable server raises `MailNotSent` with only the error's
class, never the server's reply (it may quote the message).
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from datetime import UTC, datetime
from email.message import EmailMessage
from email.utils import format_datetime, parseaddr

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


def domain_of(mail_from: str) -> str:
    """The domain of a From address (`Front door <fd@council.example>` -> `council.example`)."""
    address = parseaddr(mail_from)[1]
    return address.rpartition("@")[2] or "frontdoor.invalid"


def build_message(
    server: SmtpServer,
    *,
    recipients: list[str],
    subject: str,
    text: str,
    message_id: str,
    now: datetime | None = None,
) -> EmailMessage:
    message = EmailMessage()
    message["From"] = server.mail_from
    message["To"] = ", ".join(recipients)
    message["Subject"] = subject
    # RFC 5322 §3.6: a Date is required (filters penalise mail without one), and the
    # Message-ID's right-hand side is a domain: the sender's. The left-hand side is stable
    # per logical message (not `make_msgid`'s random one), so a receiving system can tell a
    # repeat from a new one.
    message["Date"] = format_datetime(now or datetime.now(UTC))
    message["Message-ID"] = f"<{message_id}@{domain_of(server.mail_from)}>"
    message.set_content(text)
    return message


class MailOutcomeUnknown(Exception):
    """The message went to the SMTP server but no reply came (a timeout or a dropped
    connection after the data): it may have been delivered, so it must not be sent again."""


async def send_text(
    server: SmtpServer, *, recipients: list[str], subject: str, text: str, message_id: str
) -> None:
    """Send, or raise `MailNotSent` (known not sent: safe to retry) or `MailOutcomeUnknown`."""
    if not recipients:
        raise ValueError("an email needs at least one recipient")
    message = build_message(
        server, recipients=recipients, subject=subject, text=text, message_id=message_id
    )
    client = aiosmtplib.SMTP(
        hostname=server.host,
        port=server.port,
        username=server.username,
        password=server.password,
        start_tls=server.starttls,
        timeout=server.timeout_seconds,
    )
    try:
        await client.connect()
    except (aiosmtplib.SMTPException, OSError, TimeoutError) as exc:
        raise MailNotSent(type(exc).__name__) from None
    try:
        await client.send_message(message)
    except aiosmtplib.SMTPResponseException as exc:
        # The server answered with a refusal (sender, recipients or data): not accepted.
        raise MailNotSent(type(exc).__name__) from None
    except (aiosmtplib.SMTPException, OSError, TimeoutError) as exc:
        # A timeout or a dropped connection mid-exchange: the server may have taken it.
        raise MailOutcomeUnknown(type(exc).__name__) from None
    finally:
        with contextlib.suppress(aiosmtplib.SMTPException, OSError, TimeoutError):
            if client.is_connected:
                await client.quit()
