"""Events out over HTTP: Standard Webhooks signatures and the POST to an endpoint."""
