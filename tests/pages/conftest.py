from tests.pages.isolation import make_app  # noqa: F401  (isolated test clients)
