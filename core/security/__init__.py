"""Security releases across the fleet: what each site runs, advisories, and which sites they affect."""
