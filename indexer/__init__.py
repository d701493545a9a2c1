"""Kashaf indexing and search: readers, schema, index building and the one search core."""
