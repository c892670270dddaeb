"""Test configuration: property-based tests run from a fixed seed, so CI is reproducible."""
from hypothesis import settings

settings.register_profile("jacsolve", derandomize=True, print_blob=True)
settings.load_profile("jacsolve")
