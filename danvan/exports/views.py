"""Export routes."""
