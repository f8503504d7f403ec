"""A Pulumi program of one's own that uses the component (see its __main__.py)."""
