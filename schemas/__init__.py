"""Data only: JSON Schemas and the BagIt profile, versioned by $id. Located with importlib.resources."""
