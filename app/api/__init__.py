"""The HTTP API: request and response schemas, dependencies, routes and response builders."""
