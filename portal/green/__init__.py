"""The green mile: emission factors and CO2e estimates per delivery option. Pure code: no models,
no Flask; the `/about/co2` page that explains them is in portal/pages/."""
