"""Public routes."""
