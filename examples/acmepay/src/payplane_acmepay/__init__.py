"""payplane provider for AcmePay, a fictional PSP: deposits and signed postbacks.

Use it through payplane: ``payplane.client("acmepay", settings)``.
"""

from __future__ import annotations

__all__: list[str] = []
