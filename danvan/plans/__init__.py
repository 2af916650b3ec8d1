"""Plan import: a department's Kế hoạch (.docx, PDF, pasted text) → a draft campaign."""

from danvan.plans.parser import (
    ParsedObservance,
    ParsedPlan,
    PlanTextError,
    extract_text,
    parse_plan,
)

__all__ = ["ParsedObservance", "ParsedPlan", "PlanTextError", "extract_text", "parse_plan"]
