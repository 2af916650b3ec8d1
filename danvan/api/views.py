"""The API's blueprints, in the order the OpenAPI document lists them."""

from danvan.api import archive, entries, reports, signature_requests

BLUEPRINTS = (entries.bp, reports.bp, archive.bp, signature_requests.bp)
