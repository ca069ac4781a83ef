"""GET /api/v1/redemptions/{id}/receipt: a paid redemption's payment receipt (兑付凭证) as JSON.

A firm reads its own (another firm's is 404, as everywhere); finance and auditors any; officers
none. Not paid (yet, or any more): 409 redemption-state. The account is masked; the amount comes
in figures and in capital numerals.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends

from payouts import receipts
from payouts.schemas import ReceiptOut
from subsidy.api.openapi import answers
from subsidy.api.params import RowId
from subsidy.api.security import DbSession, allow
from subsidy.auth import Principal

router = APIRouter(prefix="/api/v1", tags=["payouts"])

ReceiptReader = Annotated[Principal, Depends(allow(*receipts.READERS))]


@router.get(
    "/redemptions/{redemption_id}/receipt", response_model=ReceiptOut, responses=answers(404, 409)
)
def receipt(redemption_id: RowId, session: DbSession, me: ReceiptReader) -> ReceiptOut:
    found = receipts.receipt(session, redemption_id, uscc=me.uscc)
    return ReceiptOut.of(found)
