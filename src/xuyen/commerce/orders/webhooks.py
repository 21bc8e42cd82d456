"""Payment gateways' callbacks: VNPay's IPN (``GET /payments/vnpay/ipn``), MoMo's IPN (``POST
/payments/momo/ipn``) and ZaloPay's callback (``POST /payments/zalopay/callback``), each a signed
server-to-server report of a payment, answered in the gateway's own format."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Body, Depends, Request, Response
from fastapi.responses import JSONResponse
from sqlalchemy.orm import Session

from xuyen.commerce.orders import online
from xuyen.commerce.orders.gateways import zalopay
from xuyen.http import get_session
from xuyen.routing import Router

router = Router(prefix="/payments", tags=["payment gateways"])

MAX_PARAMS = 40
JsonObject = Annotated[dict[str, Any], Body()]


@router.get("/vnpay/ipn", summary="VNPay's payment report (IPN)")
def vnpay_ipn(request: Request, session: Annotated[Session, Depends(get_session)]) -> dict[str, str]:
    """Verify VNPay's signature, confirm the payment once, and answer in VNPay's format (``RspCode``)."""
    params = {key: value[:500] for key, value in list(request.query_params.items())[:MAX_PARAMS]}
    return online.vnpay_ipn(session, params=params, config=online.vnpay_config(request.app.state.settings)).as_json()


@router.post("/momo/ipn", status_code=204, summary="MoMo's payment report (IPN)", responses={
    400: {"description": "The signature is not MoMo's"}, 404: {"description": "No such payment"},
    409: {"description": "The amount is not the payment's"}, 422: {"description": "Not a MoMo IPN"}})
def momo_ipn(body: JsonObject, request: Request, session: Annotated[Session, Depends(get_session)]) -> Response:
    """Verify MoMo's signature, confirm (or note the failure of) the payment once, and answer 204 as MoMo
    expects."""
    online.momo_ipn(session, body=body, config=online.momo_config(request.app.state.settings))
    return Response(status_code=204)


@router.post("/zalopay/callback", summary="ZaloPay's payment callback")
def zalopay_callback(body: JsonObject, request: Request,
                     session: Annotated[Session, Depends(get_session)]) -> JSONResponse:
    """Verify ZaloPay's ``mac`` (key2), confirm the payment once, and answer in ZaloPay's format
    (``return_code`` 1 done, 2 already handled, -1 refused; a malformed body also gets HTTP 400)."""
    answer = online.zalopay_callback(session, body=body, config=online.zalopay_config(request.app.state.settings))
    return JSONResponse(answer.as_json(), status_code=400 if answer is zalopay.MALFORMED else 200)
