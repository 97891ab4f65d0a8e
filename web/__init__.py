"""The web wing: the FastAPI app (`web.app`), its channels (widget and JSON API, webhook,
WeChat) and the operator console (`web.admin`). Handlers take the `Bot` and the back
office (`backoffice.office.BackOffice`) as dependencies (`web.deps`); the app opens both
through the composition root (`backoffice.house`) when it starts."""
