def erp_recent_days_export() -> int:
    return 0
