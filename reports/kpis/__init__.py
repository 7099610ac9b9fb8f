"""KPI selectors: one definition each (docs/KPIS.md), computed set-based in SQL."""
