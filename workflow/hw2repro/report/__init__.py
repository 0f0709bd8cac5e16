"""The compiled reproduction report: tables (statistics and tidy tables), html (sections and rendering)."""
