"""HTTP routes: thin adapters between requests and :mod:`app.inference.service`."""
