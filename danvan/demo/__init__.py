"""Demo material for tests, benchmarks and the demo site: certificates and artwork.

Nothing here belongs in a real deployment's signing path.
"""
