"""Security releases across the fleet: what each site runs, advisories, the sites they affect."""
