"""A school's Operation Encompass receiver: verify, deduplicate, fetch the detail.

FRONTDOOR_WEBHOOK_SECRET=whsec_... FRONTDOOR_TOKEN=<DSL token> uvicorn dsl_receiver:app
"""

import os

import httpx
from standardwebhooks.webhooks import Webhook, WebhookVerificationError
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

webhook = Webhook(os.environ["FRONTDOOR_WEBHOOK_SECRET"])
auth = {"Authorization": f"Bearer {os.environ['FRONTDOOR_TOKEN']}"}
seen: set[str] = set()  # keep processed webhook-ids in your database in production
inbox: list[dict[str, object]] = []  # what the DSL's dashboard shows


async def encompass(request: Request) -> Response:
    try:
        event = webhook.verify(await request.body(), dict(request.headers))
    except WebhookVerificationError:
        return Response(status_code=401)
    message_id = request.headers["webhook-id"]  # the same on every retry
    if event["type"] == "encompass.notification.created" and message_id not in seen:
        async with httpx.AsyncClient() as client:  # the detail read is audited
            detail = await client.get(event["data"]["detail_url"], headers=auth)
            detail.raise_for_status()
        inbox.append(detail.json())
        seen.add(message_id)
    return Response(status_code=204)  # any 2xx acknowledges; anything else is retried


app = Starlette(routes=[Route("/encompass", encompass, methods=["POST"])])
