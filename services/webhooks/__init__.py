"""Standard Webhooks for any service: signing, SSRF checks, retry timing, one attempt.

The same rules the schools' webhooks follow (domain §7). `signing`, `ssrf` and `schedule`
are the notifications service's pure modules, here so another service can use them without
importing notifications (which stays as it is until it is pointed at these).
"""
