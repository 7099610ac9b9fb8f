from django.apps import AppConfig


class ReportsConfig(AppConfig):
    """KPIs, the finance export and the ERP export: the reporting layer, above every domain app.

    It reads orders, fulfilment and returns (and the exception queue); no other app imports it.
    """

    name = "reports"
