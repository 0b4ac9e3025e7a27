"""The inbox tables (schema version 2), created with the stores' own statements."""
