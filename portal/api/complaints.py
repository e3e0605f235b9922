"""Complaints in the parcel answer of the API (merchant keys): each case's state, no thread."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from pydantic import BaseModel, Field

from portal.models import Complaint, ComplaintStatus, ComplaintType, Resolution
from portal.services.complaints import complaints_of


class ComplaintOut(BaseModel):
    case_number: str = Field(description="Read aloud on the phone: no 0/O, 1/I/L")
    type: ComplaintType
    status: ComplaintStatus
    resolution: Resolution | None
    resolution_amount: Decimal | None = Field(description="In the parcel's currency")
    due_at: datetime = Field(description="When the customer was promised an answer")
    created_at: datetime
    updated_at: datetime


def complaint_json(complaint: Complaint) -> dict[str, Any]:
    return ComplaintOut(
        case_number=complaint.case_number,
        type=complaint.type,
        status=complaint.status,
        resolution=complaint.resolution,
        resolution_amount=complaint.resolution_amount,
        due_at=complaint.due_at,
        created_at=complaint.created_at,
        updated_at=complaint.updated_at,
    ).model_dump(mode="json")


def complaints_json(parcel_id: int) -> list[dict[str, Any]]:
    """The parcel's cases, oldest first."""
    return [complaint_json(c) for c in complaints_of(parcel_id)]
