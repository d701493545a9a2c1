"""Kashaf web: the Flask app factory, templates and static assets (thin over indexer)."""
