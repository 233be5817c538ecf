"""The API's routers, one per domain; each route declares its permission (see ``security``)."""
