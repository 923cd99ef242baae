"""Shared plumbing below every layer: configuration models, table schemas, random streams, shipped
resources, the result protocol and the plotting helper. Private: nothing here is public API."""
