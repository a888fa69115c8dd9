from django.apps import AppConfig


class FrontConfig(AppConfig):
    """The top floor of the traveller's side: pages and commands that combine several apps
    (deleting an account, the demo data)."""

    name = "front"
