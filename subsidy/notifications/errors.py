"""What `qinqing notify` refuses (the branch of `subsidy.errors`' hierarchy for notifications):

QinqingError
└── NotificationError          a notification cannot be acted on as asked
    ├── NotificationNotFound   no notification has that id
    ├── NotUndelivered         requeueing one that is pending or delivered
    └── MailRelayError         the relay cannot be used as configured (authentication
                               refused, no STARTTLS): nothing was sent, nothing recorded
"""

from __future__ import annotations

from subsidy.errors import QinqingError


class NotificationError(QinqingError):
    code = "notification.refused"
    status, slug, title = 409, "notification-refused", "The notification cannot be acted on"


class NotificationNotFound(NotificationError):
    code = "notification.not_found"
    status, slug, title = 404, "not-found", "Not found"


class NotUndelivered(NotificationError):
    """Only an undelivered notice is requeued: a pending one is on its way, a delivered one
    was delivered (sending it again would tell the firm twice)."""

    code = "notification.not_undelivered"
    variants = ("notification.not_undelivered.delivered",)


class MailRelayError(NotificationError):
    code = "mail.relay"
    status, slug, title = 502, "mail-relay", "The mail relay cannot be used as configured"
    variants = ("mail.relay.authentication", "mail.relay.no_starttls")
