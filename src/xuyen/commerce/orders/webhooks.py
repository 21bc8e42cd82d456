"""Payment gateways' callbacks: ``/payments/vnpay/ipn``, VNPay's signed server-to-server report of a payment."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request
from sqlalchemy.orm import Session

from xuyen.commerce.orders import online
from xuyen.http import get_session

router = APIRouter(prefix="/payments", tags=["payment gateways"])

MAX_PARAMS = 40


@router.get("/vnpay/ipn", summary="VNPay's payment report (IPN)")
def vnpay_ipn(request: Request, session: Annotated[Session, Depends(get_session)]) -> dict[str, str]:
    """Verify VNPay's signature, confirm the payment once, and answer in VNPay's format (``RspCode``)."""
    params = {key: value[:500] for key, value in list(request.query_params.items())[:MAX_PARAMS]}
    return online.vnpay_ipn(session, params=params, config=online.vnpay_config(request.app.state.settings)).as_json()
