from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class MetricsConfig(AppConfig):
    name = "metrics"
    verbose_name = _("Performance and eligibility")

    def ready(self) -> None:
        from metrics import checks  # noqa: F401  (registers them)
        from metrics.presenters.audit import audit_words_register

        audit_words_register()
