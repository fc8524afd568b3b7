"""Web service: REST API, Server-Sent Events and the dashboard."""
